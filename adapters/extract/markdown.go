package extract

import (
	"bytes"
	"context"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
	"golang.org/x/net/html"
)

// extractMarkdown parses with goldmark (CommonMark-compliant and widely
// used; a line scanner would take "# comment" in a code block for a
// heading) and walks its AST: headings start sections, the first level-1
// heading is the title, markup is dropped, code and raw HTML blocks are
// reduced to their text.
func extractMarkdown(ctx context.Context, data []byte, b *builder) error {
	s, ok := decodeText(data)
	if !ok {
		return fail(ErrDamaged, "Markdown file contains binary data")
	}
	src := []byte(s)
	if nestingDepth(src) > maxMarkdownNesting {
		// goldmark's time grows with the square of container nesting
		// (seconds at a depth of 50,000); no document nests like that, so
		// such input is read as plain text.
		return extractText(ctx, src, b)
	}
	root := goldmark.New().Parser().Parse(text.NewReader(src))
	var n int
	return ast.Walk(root, func(node ast.Node, entering bool) (ast.WalkStatus, error) {
		if n++; n%checkEvery == 0 && ctx.Err() != nil {
			return ast.WalkStop, ctx.Err()
		}
		switch node := node.(type) {
		case *ast.Heading:
			if !entering {
				return ast.WalkContinue, nil
			}
			h := inlineText(node, src)
			if node.Level == 1 {
				b.setTitle(h)
			}
			return ast.WalkSkipChildren, b.section(h)
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			if entering {
				return ast.WalkSkipChildren, b.raw(blockLines(node, src))
			}
		case *ast.HTMLBlock:
			if entering {
				b.para()
				err := b.inline(markupText(blockLines(node, src)))
				b.para()
				return ast.WalkSkipChildren, err
			}
		case *ast.Paragraph, *ast.TextBlock, *ast.ListItem, *ast.Blockquote, *ast.ThematicBreak:
			b.para()
		case *ast.Text:
			if entering {
				if err := b.inline(string(node.Segment.Value(src))); err != nil {
					return ast.WalkStop, err
				}
				if node.SoftLineBreak() || node.HardLineBreak() {
					return ast.WalkContinue, b.inline(" ")
				}
			}
		case *ast.String:
			if entering {
				return ast.WalkContinue, b.inline(string(node.Value))
			}
		case *ast.AutoLink:
			if entering {
				return ast.WalkSkipChildren, b.inline(string(node.Label(src)))
			}
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
}

// maxMarkdownNesting: real documents nest quotes and lists a few levels.
const maxMarkdownNesting = 64

// nestingDepth is the deepest container nesting any line opens: block
// quote markers, list markers and indentation (two columns a level).
func nestingDepth(src []byte) int {
	deepest := 0
	for line := range bytes.Lines(src) {
		depth, indent := 0, 0
	scan:
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case c == ' ':
				indent++
			case c == '\t':
				indent += 4
			case c == '>':
				depth++
			case (c == '-' || c == '*' || c == '+') && i+1 < len(line) && line[i+1] == ' ':
				depth++
			case c >= '0' && c <= '9':
				j := i
				for j < len(line) && line[j] >= '0' && line[j] <= '9' {
					j++
				}
				if j+1 < len(line) && (line[j] == '.' || line[j] == ')') && line[j+1] == ' ' {
					depth++
					i = j
					continue
				}
				break scan
			default:
				break scan
			}
		}
		deepest = max(deepest, depth+indent/2)
	}
	return deepest
}

// markupText is the text in a fragment of HTML, tags dropped.
func markupText(s string) string {
	var sb strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return sb.String()
		case html.TextToken:
			sb.Write(z.Text())
			sb.WriteByte(' ')
		}
	}
}

// inlineText is the text of a node's inline children, markup dropped.
func inlineText(n ast.Node, src []byte) string {
	var sb strings.Builder
	_ = ast.Walk(n, func(node ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || sb.Len() > maxHeading*4 {
			return ast.WalkContinue, nil
		}
		switch node := node.(type) {
		case *ast.Text:
			sb.Write(node.Segment.Value(src))
			if node.SoftLineBreak() || node.HardLineBreak() {
				sb.WriteByte(' ')
			}
		case *ast.String:
			sb.Write(node.Value)
		case *ast.AutoLink:
			sb.Write(node.Label(src))
		}
		return ast.WalkContinue, nil
	})
	return sb.String()
}

func blockLines(n ast.Node, src []byte) string {
	var sb strings.Builder
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		sb.Write(seg.Value(src))
	}
	return sb.String()
}
