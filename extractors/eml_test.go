package extractors

import (
	"context"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
)

// Messages as mail clients write them: an HTML-only body in Latin-1 and base64, a body
// without any Content-Type, nested multiparts, a message/rfc822 forwarded as an
// attachment, and the caps on nesting and parts.
func TestEMLDetails(t *testing.T) {
	htmlOnly := "From: a@example.org\r\nTo: b@example.org\r\nSubject: =?iso-8859-1?q?Caf=E9?=\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n" +
		"--X\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"PGgxPk1lbnU8L2gxPjxwPkNy6G1lIGJy+2zpZS48L3A+\r\n" +
		"--X\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\nSubject: old\r\n\r\nold body\r\n" +
		"--X\r\nContent-Type: application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\r\n\r\n%PDF-1.4\r\n--X--\r\n"
	doc, err := EMLExtractor{}.Extract(context.Background(), []byte(htmlOnly))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Café\n\nMenu\n\nCrème brûlée."; doc.Text != want {
		t.Errorf("text %q, want %q", doc.Text, want)
	}
	if doc.Metadata["attachments"] != "fwd.eml, résumé.pdf" || doc.Metadata["date"] != "2026-03-02T10:00:00Z" || doc.Metadata["subject"] != "Café" {
		t.Errorf("metadata %v", doc.Metadata)
	}
	if len(doc.Headings) != 2 {
		t.Errorf("headings %+v (the subject, then the HTML's own)", doc.Headings)
	}
	doc, err = EMLExtractor{}.Extract(context.Background(), []byte("From: a@example.org\nSubject: plain\n\nno MIME at all\n\nsecond paragraph"))
	if err != nil || doc.Text != "plain\n\nno MIME at all\n\nsecond paragraph" {
		t.Errorf("a message without MIME: %q %v", doc.Text, err)
	}
	nest := func(depth int) string {
		var b strings.Builder
		b.WriteString("From: a@example.org\nSubject: deep\nContent-Type: multipart/mixed; boundary=b" + itoa(0) + "\n\n")
		for i := 1; i < depth; i++ {
			b.WriteString("--b" + itoa(i-1) + "\nContent-Type: multipart/mixed; boundary=b" + itoa(i) + "\n\n")
		}
		b.WriteString("--b" + itoa(depth-1) + "\nContent-Type: text/plain\n\ninnermost\n")
		for i := depth - 1; i >= 0; i-- {
			b.WriteString("--b" + itoa(i) + "--\n")
		}
		return b.String()
	}
	if doc, err := (EMLExtractor{}).Extract(context.Background(), []byte(nest(MaxEMLDepth))); err != nil || !strings.Contains(doc.Text, "innermost") {
		t.Errorf("multiparts nested %d deep: %v", MaxEMLDepth, err)
	}
	_, err = EMLExtractor{}.Extract(context.Background(), []byte(nest(MaxEMLDepth+1)))
	wantPermanent(t, err, "one multipart too deep", document.ReasonCorrupt)
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("From: a@example.org\nSubject: many\nContent-Type: multipart/mixed; boundary=m\n\n")
		for range n {
			b.WriteString("--m\nContent-Type: text/plain\n\nx\n")
		}
		b.WriteString("--m--\n")
		return b.String()
	}
	// the message itself is a part: MaxEMLParts-1 inner parts are at the cap
	if _, err := (EMLExtractor{}).Extract(context.Background(), []byte(many(MaxEMLParts-1))); err != nil {
		t.Errorf("at the part cap: %v", err)
	}
	_, err = EMLExtractor{}.Extract(context.Background(), []byte(many(MaxEMLParts)))
	wantPermanent(t, err, "one part past the cap", document.ReasonTooLarge)
	for name, c := range map[string]struct {
		data string
		want string
	}{
		"mail":         {"Return-Path: <a@example.org>\nFrom: a@example.org\nSubject: x\n\nbody", FormatEML},
		"note.txt":     {"From: Alice\n\nDear Bob, see you soon.", FormatText},
		"message.eml":  {"whatever", FormatEML},
		"headers only": {"Date: today\nFrom: a@example.org\nSubject: s", FormatEML},
	} {
		if got := Detect(name, []byte(c.data)); got != c.want {
			t.Errorf("Detect(%q) = %q, want %q", name, got, c.want)
		}
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

// Attachments come back decoded, numbered in message order, for the pipeline to read as
// documents of their own; inline images of an HTML body are not documents; an
// undecodable attachment fails alone; a message with attachments and no body text is a
// document with empty text.
func TestEMLAttachments(t *testing.T) {
	msg := "From: a@example.org\r\nSubject: report\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n" +
		"--X\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n" +
		"--A\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--A\r\nContent-Type: multipart/related; boundary=R\r\n\r\n" +
		"--R\r\nContent-Type: text/html\r\n\r\n<p>see attached <img src=cid:logo></p>\r\n" +
		"--R\r\nContent-Type: image/png; name=logo.png\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n" +
		"--R--\r\n--A--\r\n" +
		"--X\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"bm90ZXMgb24g\r\ndGhlIHJlcG9ydA==\r\n" +
		"--X\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n%PDF-1.4=0A=\r\nend\r\n" +
		"--X\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=bad.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n" +
		"--X--\r\n"
	doc, err := EMLExtractor{}.Extract(context.Background(), []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "report\n\nsee attached" {
		t.Errorf("text %q", doc.Text)
	}
	if got := doc.Metadata["attachments"]; got != "logo.png, notes.txt, r.pdf, bad.bin" {
		t.Errorf("attachments named %q", got)
	}
	if len(doc.Attachments) != 3 {
		t.Fatalf("%d attachment documents, want 3 (notes.txt, r.pdf, bad.bin; the inline logo is part of the body): %+v", len(doc.Attachments), doc.Attachments)
	}
	want := []document.Attachment{{N: 1, Name: "notes.txt", Data: []byte("notes on the report")}, {N: 2, Name: "r.pdf", Data: []byte("%PDF-1.4\nend")}}
	for i, w := range want {
		a := doc.Attachments[i]
		if a.N != w.N || a.Name != w.Name || string(a.Data) != string(w.Data) || a.Err != nil {
			t.Errorf("attachment %d: %d %q %q %v, want %d %q %q", i, a.N, a.Name, a.Data, a.Err, w.N, w.Name, w.Data)
		}
	}
	if bad := doc.Attachments[2]; bad.N != 3 || bad.Name != "bad.bin" || bad.Err == nil {
		t.Errorf("an undecodable attachment: %+v", bad)
	} else {
		wantPermanent(t, bad.Err, "undecodable attachment", document.ReasonCorrupt)
	}
	only := "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n" +
		"--X\r\nContent-Type: text/plain\r\n\r\n\r\n" +
		"--X\r\nContent-Type: text/csv; name=a.csv\r\nContent-Disposition: attachment; filename=a.csv\r\n\r\nx,y\r\n1,2\r\n--X--\r\n"
	doc, err = EMLExtractor{}.Extract(context.Background(), []byte(only))
	if err != nil || doc.Text != "" || doc.Format != FormatEML || len(doc.Attachments) != 1 || doc.Attachments[0].Name != "a.csv" {
		t.Errorf("attachments only: %q %+v %v", doc.Text, doc.Attachments, err)
	}
	_, err = EMLExtractor{}.Extract(context.Background(), []byte("From: a@example.org\r\nContent-Type: text/plain\r\n\r\n \r\n"))
	wantPermanent(t, err, "neither text nor attachments", document.ReasonEmpty)
}
