package event

import (
	"testing"
)

func TestPosition(t *testing.T) {
	tests := []struct {
		a, b Position
		less bool
	}{
		{Position{1, 5}, Position{2, 0}, true},
		{Position{2, 1}, Position{2, 2}, true},
		{Position{2, 2}, Position{2, 2}, false},
		{Position{3, 0}, Position{2, 9}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Less(tt.b); got != tt.less {
			t.Errorf("%v.Less(%v) = %v", tt.a, tt.b, got)
		}
		p, err := ParsePosition(tt.a.String())
		if err != nil || p != tt.a {
			t.Errorf("ParsePosition(%q) = %v, %v", tt.a.String(), p, err)
		}
	}
	for _, bad := range []string{"", "1", "1/x", "1/2/3", "-1/2"} {
		if _, err := ParsePosition(bad); err == nil {
			t.Errorf("ParsePosition(%q) accepted", bad)
		}
	}
}

func TestStreamState(t *testing.T) {
	tests := []struct {
		s       StreamState
		current int64
		ok      bool
	}{
		{Any(), 0, true}, {Any(), 7, true},
		{NoStream(), 0, true}, {NoStream(), 1, false},
		{StreamExists(), 0, false}, {StreamExists(), 3, true},
		{Exact(3), 3, true}, {Exact(3), 2, false}, {Exact(0), 0, true},
	}
	for _, tt := range tests {
		if got := tt.s.Check(tt.current); got != tt.ok {
			t.Errorf("%s.Check(%d) = %v", tt.s, tt.current, got)
		}
	}
}

type pinged struct {
	N int `json:"n"`
}

func (pinged) EventType() string { return "test.pinged" }

func TestCodecRoundTrip(t *testing.T) {
	c := NewCodec([]Kind{KindOf[pinged](2)})
	typ, schema, data, err := c.Encode(pinged{N: 4})
	if err != nil || typ != "test.pinged" || schema != 2 {
		t.Fatalf("Encode = %s %d %s %v", typ, schema, data, err)
	}
	p, err := c.Decode(Event{Type: typ, Data: data})
	if err != nil || p.(pinged).N != 4 {
		t.Errorf("Decode = %#v, %v", p, err)
	}
	if _, err := c.Decode(Event{Type: "nope"}); err == nil {
		t.Error("unknown kind decoded")
	}
}
