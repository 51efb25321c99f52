package extractors

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/docingest/docingest/document"
	"golang.org/x/text/encoding/htmlindex"
)

// EMLExtractor reads e-mail messages (RFC 5322, MIME) with net/mail and mime/multipart:
// the subject is the document's heading; the body is the message's text/plain part, or
// its text/html part through the HTML extractor when it has no plain text (within
// multipart/alternative, plain text is preferred); inline text parts of a
// multipart/mixed message follow one another. Transfer encodings (quoted-printable,
// base64) and charsets (any the WHATWG encoding standard names) are decoded, headers'
// encoded words too. From, To, Cc, Date, Subject, Message-ID and the attachments' names
// become the document's metadata, so every chunk carries them.
//
// Attachments are not part of the message's text: they are returned, decoded, in
// Document.Attachments (the pipeline reads each one whose format it knows as a document
// of its own). An attachment is a part with "Content-Disposition: attachment", or a named
// part that is not text outside multipart/related (inline images of an HTML body, which
// sit in multipart/related, are not documents). A message whose body has no text but
// has attachments gives a document with empty text and its attachments. A message nests
// at most MaxEMLDepth multiparts and has at most MaxEMLParts parts; its attachments'
// bytes together are at most the message's own size (transfer encodings only shrink).
type EMLExtractor struct{ Limits Limits }

// Caps on a message's MIME structure.
const (
	MaxEMLDepth = 16
	MaxEMLParts = 1000
)

var emlWords = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(input), nil
}}

type emlBody struct {
	plain, html []string // text parts in order
	attachments []string
	files       []document.Attachment
	parts       int
}

func (e EMLExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "eml: %w", err)
	}
	h := msg.Header
	header := func(name string) string {
		v := h.Get(name)
		if d, err := emlWords.DecodeHeader(v); err == nil {
			v = d
		}
		return strings.Join(strings.Fields(v), " ")
	}
	meta := map[string]string{}
	for _, k := range []string{"From", "To", "Cc", "Subject", "Message-ID"} {
		if v := header(k); v != "" {
			meta[strings.ToLower(strings.ReplaceAll(k, "-", "_"))] = v
		}
	}
	if d, err := h.Date(); err == nil {
		meta["date"] = d.Format(time.RFC3339)
	}
	var body emlBody
	if err := e.walk(ctx, h, msg.Body, 0, &body, ""); err != nil {
		return document.Document{}, err
	}
	if len(body.attachments) > 0 {
		meta["attachments"] = strings.Join(body.attachments, ", ")
	}
	b := newBuilder(ctx, FormatEML, e.Limits)
	if s := meta["subject"]; s != "" {
		b.heading(1, "", s)
	}
	switch {
	case len(body.plain) > 0:
		for _, text := range body.plain {
			for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
				b.para(p)
			}
		}
	case len(body.html) > 0:
		for _, page := range body.html {
			doc, err := HTMLExtractor{Limits: e.Limits}.Extract(ctx, []byte(page))
			if reason, _ := document.Classify(err); err != nil && reason == document.ReasonEmpty {
				continue
			}
			if err != nil {
				return document.Document{}, err
			}
			appendDoc(b, doc)
		}
	}
	doc, err := b.done()
	if reason, _ := document.Classify(err); err != nil && reason == document.ReasonEmpty && len(body.files) > 0 && ctx.Err() == nil {
		doc, err = document.Document{Format: FormatEML}, nil // only attachments
	}
	if err != nil {
		return doc, err
	}
	doc.Metadata = meta
	for i := range body.files {
		body.files[i].N = i + 1 // in the message's order, alternatives included
	}
	doc.Attachments = body.files
	return doc, nil
}

// mimeHeader adapts mail.Header and multipart's textproto headers.
type mimeHeader interface{ Get(string) string }

// walk reads one MIME part into out; parent is the media type of the multipart that
// holds it ("" for the message's own body).
func (e EMLExtractor) walk(ctx context.Context, h mimeHeader, r io.Reader, depth int, out *emlBody, parent string) error {
	if out.parts++; out.parts > MaxEMLParts {
		return document.Permanentf(document.ReasonTooLarge, "eml: more than %d MIME parts", MaxEMLParts)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ctype, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		ctype, params = "text/plain", map[string]string{"charset": "us-ascii"}
	}
	disposition, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	if strings.HasPrefix(ctype, "multipart/") {
		if depth >= MaxEMLDepth {
			return document.Permanentf(document.ReasonCorrupt, "eml: multiparts nest deeper than %d levels", MaxEMLDepth)
		}
		boundary := params["boundary"]
		if boundary == "" {
			return document.Permanentf(document.ReasonCorrupt, "eml: %s without a boundary", ctype)
		}
		mr := multipart.NewReader(r, boundary)
		alt := ctype == "multipart/alternative"
		var sub emlBody
		target := out
		if alt {
			target = &sub
			sub.parts = out.parts
		}
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return document.Permanentf(document.ReasonCorrupt, "eml: %w", err)
			}
			err = e.walk(ctx, p.Header, p, depth+1, target, ctype)
			p.Close()
			if err != nil {
				return err
			}
		}
		if alt {
			// one of the alternatives: plain text when there is any
			out.parts = sub.parts
			out.attachments = append(out.attachments, sub.attachments...)
			out.files = append(out.files, sub.files...)
			if len(sub.plain) > 0 {
				out.plain = append(out.plain, sub.plain...)
			} else {
				out.html = append(out.html, sub.html...)
			}
		}
		return nil
	}
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if d, err := emlWords.DecodeHeader(name); err == nil {
		name = d
	}
	if disposition == "attachment" || (name != "" && !strings.HasPrefix(ctype, "text/")) || (!strings.HasPrefix(ctype, "text/plain") && !strings.HasPrefix(ctype, "text/html")) {
		listed := name
		if listed == "" {
			listed = "(" + ctype + ")"
		}
		out.attachments = append(out.attachments, listed)
		if disposition == "attachment" || (name != "" && parent != "multipart/related") {
			data, err := io.ReadAll(transferDecoder(h, r))
			if err != nil {
				data, err = nil, document.Permanentf(document.ReasonCorrupt, "eml: attachment %q: %w", name, err)
			}
			if name == "" && ctype == "message/rfc822" {
				name = "message.eml"
			}
			out.files = append(out.files, document.Attachment{Name: name, Data: data, Err: err})
		}
		return nil
	}
	text, err := e.decode(h, r, params["charset"])
	if err != nil {
		return err
	}
	if ctype == "text/html" {
		out.html = append(out.html, text)
	} else {
		out.plain = append(out.plain, text)
	}
	return nil
}

// decode undoes a part's transfer encoding and charset, reading at most the text cap
// (times four: markup and encoding) of it.
func (e EMLExtractor) decode(h mimeHeader, r io.Reader, charset string) (string, error) {
	r = transferDecoder(h, r)
	limit := int64(1 << 30)
	if e.Limits.MaxTextBytes > 0 {
		limit = int64(e.Limits.MaxTextBytes) * 4
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return "", document.Permanentf(document.ReasonCorrupt, "eml: body: %w", err)
	}
	if int64(len(raw)) > limit {
		return "", document.Permanentf(document.ReasonTooLarge, "eml: a body part decodes past %d bytes", limit)
	}
	if charset != "" && !strings.EqualFold(charset, "utf-8") && !strings.EqualFold(charset, "us-ascii") {
		if enc, err := htmlindex.Get(charset); err == nil {
			if s, err := enc.NewDecoder().String(string(raw)); err == nil {
				return s, nil
			}
		}
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD"), nil
}

// transferDecoder undoes a part's Content-Transfer-Encoding.
func transferDecoder(h mimeHeader, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Lines{r: r})
	}
	return r
}

// base64Lines drops the line breaks and spaces of a base64 body, which encoding/base64's
// decoder does not skip on its own between every group.
type base64Lines struct{ r io.Reader }

func (b *base64Lines) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	k := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			p[k] = c
			k++
		}
	}
	if k == 0 && n > 0 && err == nil {
		return b.Read(p)
	}
	return k, err
}
