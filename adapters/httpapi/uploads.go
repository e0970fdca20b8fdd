package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/companin/companin/adapters/extract"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/knowledge"
	"github.com/companin/companin/projections"
)

// filesPath is the one route whose body may exceed the JSON body limit.
const filesPath = "/api/v1/knowledge/files"

func (s *Server) addFile(c echo.Context) error {
	req := c.Request()
	mt := req.Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(mt, echo.MIMEMultipartForm) {
		return newError(http.StatusUnsupportedMediaType, "Unsupported media type - send multipart/form-data with a file field")
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, s.cfg.MaxUpload+64<<10)
	if err := req.ParseMultipartForm(8 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newError(http.StatusRequestEntityTooLarge, "File too large")
		}
		return &apiError{code: http.StatusBadRequest, detail: "Malformed multipart body", err: err}
	}
	defer req.MultipartForm.RemoveAll()
	form := req.MultipartForm
	for name := range form.Value {
		switch name {
		case "title", "file_type", "tags", "assistant_id":
		default:
			return fieldError(name, "is not a known field")
		}
	}
	files := form.File["file"]
	if len(files) != 1 {
		return fieldError("file", "exactly one file is required")
	}
	fh := files[0]
	if fh.Size > s.cfg.MaxUpload {
		return newError(http.StatusRequestEntityTooLarge, "File too large")
	}
	f, err := fh.Open()
	if err != nil {
		return &apiError{code: http.StatusBadRequest, detail: "Could not read the file", err: err}
	}
	data, err := io.ReadAll(io.LimitReader(f, s.cfg.MaxUpload+1))
	f.Close()
	if err != nil {
		return &apiError{code: http.StatusBadRequest, detail: "Could not read the file", err: err}
	}
	if int64(len(data)) > s.cfg.MaxUpload {
		return newError(http.StatusRequestEntityTooLarge, "File too large")
	}
	typ, err := extract.Sniff(data, formValue(form.Value, "file_type"), fh.Filename)
	if err != nil {
		var xe *extract.Error
		if errors.As(err, &xe) {
			return &apiError{code: http.StatusUnsupportedMediaType, detail: "Unsupported file - " + xe.Reason, err: err}
		}
		return &apiError{code: http.StatusUnsupportedMediaType, detail: "Unsupported file", err: err}
	}
	aid, err := parseUUIDField("assistant_id", formValue(form.Value, "assistant_id"), false)
	if err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	ctx := req.Context()
	sum, err := s.Blobs.Put(ctx, data, string(typ))
	if err != nil {
		return err
	}
	id := commands.NewID(m, "knowledge")
	res, err := s.Knowledge.AddFile(ctx, m, id, knowledge.File{
		Title: formValue(form.Value, "title"), FileType: string(typ), Filename: fh.Filename,
		BlobSHA256: sum, Size: int64(len(data)), Tags: splitTags(form.Value["tags"]), AssistantID: aid,
	})
	if err != nil {
		return err
	}
	return s.answerKnowledge(c, res, "Knowledge file uploaded - indexing")
}

type urlRequest struct {
	URL         string   `json:"url"`
	Title       string   `json:"title"`
	Tags        []string `json:"tags"`
	AssistantID string   `json:"assistant_id"`
}

func (s *Server) addURL(c echo.Context) error {
	var req urlRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	aid, err := parseUUIDField("assistant_id", req.AssistantID, false)
	if err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	id := commands.NewID(m, "knowledge")
	res, err := s.Knowledge.AddURL(c.Request().Context(), m, id, req.URL, req.Title, req.Tags, aid)
	if err != nil {
		return err
	}
	return s.answerKnowledge(c, res, "Web page added - fetching and indexing")
}

func (s *Server) refreshKnowledge(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	res, err := s.Knowledge.Refresh(c.Request().Context(), m, id)
	if err != nil {
		return err
	}
	return written(s, c, projections.Knowledge, res, http.StatusAccepted, "Refresh requested - fetching and indexing", s.Queries.KnowledgeItem)
}

func (s *Server) answerKnowledge(c echo.Context, res commands.Result, detail string) error {
	return written(s, c, projections.Knowledge, res, http.StatusCreated, detail, s.Queries.KnowledgeItem)
}

func formValue(v map[string][]string, key string) string {
	if len(v[key]) == 0 {
		return ""
	}
	return v[key][0]
}

// splitTags accepts tags as repeated fields or comma-separated.
func splitTags(values []string) []string {
	tags := []string{}
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	return tags
}
