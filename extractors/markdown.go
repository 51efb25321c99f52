package extractors

import (
	"context"
	"strings"

	"github.com/docingest/docingest/document"
)

// MarkdownExtractor keeps Markdown text as written, one block per paragraph, list or
// fenced code block, and records its heading structure (ATX "## Title" and Setext
// underlines). Headings inside fenced code are not headings. A leading YAML front-matter
// block is dropped: it is metadata, not text.
type MarkdownExtractor struct{ Limits Limits }

func (e MarkdownExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	text, err := decodeText(data)
	if err != nil {
		return document.Document{}, err
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = stripFrontMatter(text)
	lines := strings.Split(text, "\n")
	b := newBuilder(FormatMarkdown, e.Limits)
	b.sizeHint(len(data))
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.para(strings.Join(para, "\n"))
			para = para[:0]
		}
	}
	fence := ""
	for i := 0; i < len(lines); i++ {
		if b.full() {
			break
		}
		if i%1024 == 0 && ctx.Err() != nil {
			return document.Document{}, ctx.Err()
		}
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			para = append(para, line)
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
				flush()
			}
			continue
		}
		if f := fenceOf(trimmed); f != "" {
			flush()
			fence = f
			para = append(para, line)
			continue
		}
		if level, title, ok := atxHeading(line); ok {
			flush()
			b.heading(level, strings.Repeat("#", level)+" ", title)
			continue
		}
		if len(para) == 1 && i > 0 && isSetextUnderline(trimmed) {
			level := 1
			if trimmed[0] == '-' {
				level = 2
			}
			title := para[0]
			para = para[:0]
			b.heading(level, strings.Repeat("#", level)+" ", title)
			continue
		}
		if trimmed == "" {
			flush()
			continue
		}
		para = append(para, line)
	}
	flush()
	return b.done()
}

func stripFrontMatter(s string) string {
	if !strings.HasPrefix(s, "---\n") {
		return s
	}
	if end := strings.Index(s[4:], "\n---\n"); end >= 0 {
		return s[4+end+5:]
	}
	return s
}

func fenceOf(trimmed string) string {
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(trimmed, f) {
			return f
		}
	}
	return ""
}

// atxHeading parses "### Title ###" (up to three leading spaces, one to six '#', then a
// space or the end of the line).
func atxHeading(line string) (int, string, bool) {
	s := line
	for n := 0; n < 3 && strings.HasPrefix(s, " "); n++ {
		s = s[1:]
	}
	level := 0
	for level < len(s) && s[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(s) && s[level] != ' ' && s[level] != '\t') {
		return 0, "", false
	}
	title := strings.TrimSpace(s[level:])
	title = strings.TrimSpace(strings.TrimRight(title, "#"))
	return level, title, title != ""
}

func isSetextUnderline(trimmed string) bool {
	if len(trimmed) < 2 {
		return false
	}
	c := trimmed[0]
	if c != '=' && c != '-' {
		return false
	}
	return strings.Trim(trimmed, string(c)) == ""
}
