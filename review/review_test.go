package review

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// hostile is an item's text that would run script if the page took it for markup.
const hostile = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> see <a href="javascript:window.__pwned = 3">the link</a>`

// textsByClass are passages whose class is known, for people (the tests) to label.
var textsByClass = map[string][]string{
	"administration": {
		"Restart the ssh service with systemctl after you edit its configuration file.",
		"The network interfaces are configured in /etc/network/interfaces at boot.",
		"Install the package with apt and enable its service so it starts at boot.",
		"Add a user to the sudo group so they can run administrative commands.",
		"Mount the new disk and add it to /etc/fstab so it is mounted at boot.",
		"Check the journal with journalctl when a service fails to start.",
		"Set the hostname and the time zone when you install the system.",
	},
	"packaging": {
		"Upload the new version of the package to the archive after the build succeeds.",
		"The maintainer closes the bug in the changelog entry of the upload.",
		"A Debian developer sponsors uploads of packages prepared by new contributors.",
		"Run lintian on the source package before you upload it to the archive.",
		"The package's control file names its maintainer and its build dependencies.",
		"File a bug against the package when its maintainer has not answered.",
	},
	"legal": {
		"You may copy and distribute verbatim copies of the licence document.",
		"THE SOFTWARE IS PROVIDED WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.",
		"Redistribution in binary form must reproduce the above copyright notice.",
		"The licensor grants you a worldwide, royalty-free, non-exclusive licence.",
		"In no event shall the authors be liable for any claim or damages.",
		"You must give recipients a copy of this licence with the covered work.",
	},
}

// classOf is each text's class (the hostile text is legal: it talks of a link).
func classOf(text string) string {
	if text == hostile {
		return "legal"
	}
	for class, texts := range textsByClass {
		for _, t := range texts {
			if t == text {
				return class
			}
		}
	}
	return ""
}

func testLabeling() labeling.Config {
	c := labeling.DefaultConfig()
	c.Enabled, c.Backend, c.MaxItemsPerJob, c.MaxItemsPerDay, c.MinLabelsPerClass = true, labeling.BackendLocal, 20, 100, 2
	c.Classes = []labeling.Class{
		{Name: "administration", Description: "Running a system: services, users, disks, network, installing packages with apt."},
		{Name: "packaging", Description: "Making packages: uploads, maintainers, bugs, the archive."},
		{Name: "legal", Description: "Licence terms: copying, distribution, warranty and liability."},
	}
	return c
}

type fixture struct {
	srv   *Server
	out   *storage.Local
	cfg   labeling.Config
	url   string
	local *labeling.Local
}

// newFixture is an output whose uncertain chunks (every text above and the hostile one,
// as the worker writes them) wait in the spool, and the app over it.
func newFixture(t *testing.T, rc Config, workers int) *fixture {
	t.Helper()
	ctx := context.Background()
	out, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testLabeling()
	cfg.WorkersPerObject = workers
	f := labeling.Features{HashDims: 1 << 12}
	l, err := labeling.NewLabeler(ctx, cfg, out, f, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, class := range []string{"administration", "packaging", "legal"} {
		// two documents per class, so cross-validation by document has something to hold out
		for doc := range 2 {
			s := l.Begin(fmt.Sprintf("s3://in/%s-%d.txt", class, doc))
			var in []document.LabelInput
			for i, text := range textsByClass[class] {
				if i%2 == doc {
					in = append(in, document.LabelInput{ID: fmt.Sprintf("%s-%d#%d", class, doc, i), Index: i, Text: text, HeadingPath: []string{"Guide", strings.ToUpper(class[:1]) + class[1:]}})
				}
			}
			if class == "legal" && doc == 1 {
				in = append(in, document.LabelInput{ID: "legal#h", Index: 99, Text: hostile})
			}
			n += len(in)
			if _, err := s.Label(ctx, in); err != nil {
				t.Fatal(err)
			}
			if err := s.Finish(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n != 20 {
		t.Fatalf("the fixture has %d items, the tests expect 20", n)
	}
	local := &labeling.Local{Store: out, Config: cfg}
	backends := &labeling.Backends{Local: local, Create: labeling.BackendLocal}
	srv := &Server{Labeling: cfg, Review: rc, Store: out, Local: local, Backend: backends,
		Model: func(ctx context.Context, human map[string]labeling.HumanLabel) (*labeling.Model, error) {
			return labeling.Classifier(ctx, cfg, out, f, human, time.Now, true)
		},
		Submit: func(ctx context.Context, audit int) (labeling.SubmitResult, error) {
			return (&labeling.Dispatcher{Config: cfg, Store: out, Backend: backends, Features: f, AuditItems: audit}).Submit(ctx)
		},
		Collect: func(ctx context.Context) ([]labeling.CollectResult, *labeling.Model, error) {
			return (&labeling.Collector{Config: cfg, Store: out, Backend: backends, Features: f}).Collect(ctx)
		},
	}
	if err := srv.Init(); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &fixture{srv: srv, out: out, cfg: cfg, url: ts.URL, local: local}
}

func loopback() Config { c := DefaultConfig(); return c }

// client is a browser-like HTTP client: cookies kept, redirects not followed.
func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// signIn signs a client in and returns its CSRF token.
func signIn(t *testing.T, f *fixture, c *http.Client, name, token string) string {
	t.Helper()
	form := url.Values{"name": {name}}
	if token != "" {
		form.Set("token", token)
	}
	resp, _ := do(t, c, "POST", f.url+"/login", form, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %s", name, resp.Status)
	}
	_, page := do(t, c, "GET", f.url+"/review", nil, nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the Review page:\n%s", page)
	}
	return m[1]
}

func answers(t *testing.T, f *fixture) int {
	t.Helper()
	n := 0
	if err := f.out.List(context.Background(), layout.JobsRoot, true, func(o storage.ObjectInfo) error {
		if strings.Contains(o.Key, "/answers/") {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEveryPageNeedsASignedInReviewer(t *testing.T) {
	f := newFixture(t, loopback(), 1)
	c := client(t)
	for _, p := range []string{"/label", "/review", "/audit"} {
		resp, _ := do(t, c, "GET", f.url+p, nil, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("GET %s signed out: %s to %q", p, resp.Status, resp.Header.Get("Location"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", p, csp)
		}
	}
	resp, _ := do(t, c, "POST", f.url+"/jobs/new", url.Values{}, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST signed out: %s", resp.Status)
	}
	// a forged cookie is no session
	u, _ := url.Parse(f.url)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: "eyJuIjoibWFsbG9yeSIsImsiOiIwIn0.00"}})
	if resp, _ := do(t, c, "GET", f.url+"/review", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a forged session cookie was accepted: %s", resp.Status)
	}
}

func TestTokenOffLoopback(t *testing.T) {
	rc := DefaultConfig()
	rc.Listen = "0.0.0.0:8080"
	f := newFixture(t, rc, 1)
	if f.srv.Token() == "" {
		t.Fatal("no token made up for a server off loopback")
	}
	c := client(t)
	for _, tok := range []string{"", "wrong-token-000000000"} {
		resp, page := do(t, c, "POST", f.url+"/login", url.Values{"name": {"eve"}, "token": {tok}}, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "wrong token") {
			t.Fatalf("sign in with token %q: %s", tok, resp.Status)
		}
	}
	if resp, _ := do(t, c, "GET", f.url+"/review", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the Review page after a refused sign-in: %s", resp.Status)
	}
	signIn(t, f, c, "alice", f.srv.Token())
	// on loopback no token is asked for
	lf := newFixture(t, loopback(), 1)
	if lf.srv.Token() != "" {
		t.Fatalf("a loopback server made up a token")
	}
	signIn(t, lf, client(t), "alice", "")
	if Loopback("0.0.0.0:80") || Loopback("10.0.0.5:80") || !Loopback("127.0.0.1:80") || !Loopback("[::1]:80") || !Loopback("localhost:80") {
		t.Fatal("Loopback misclassifies an address")
	}
}

func TestPostsNeedTheirCSRFTokenAndTheSameOrigin(t *testing.T) {
	f := newFixture(t, loopback(), 1)
	c := client(t)
	csrf := signIn(t, f, c, "alice", "")
	if resp, _ := do(t, c, "POST", f.url+"/jobs/new", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a POST without its CSRF token: %s", resp.Status)
	}
	if resp, _ := do(t, c, "POST", f.url+"/jobs/new", url.Values{"csrf": {strings.Repeat("0", 64)}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a POST with another CSRF token: %s", resp.Status)
	}
	cross := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	if resp, _ := do(t, c, "POST", f.url+"/jobs/new", url.Values{"csrf": {csrf}}, cross); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site POST: %s", resp.Status)
	}
	if n := countJobs(t, f); n != 0 {
		t.Fatalf("%d jobs created by refused requests", n)
	}
	resp, _ := do(t, c, "POST", f.url+"/jobs/new", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusSeeOther || countJobs(t, f) != 1 {
		t.Fatalf("a same-origin POST with its token: %s, %d jobs", resp.Status, countJobs(t, f))
	}
}

func countJobs(t *testing.T, f *fixture) int {
	jobs, err := f.local.Jobs(context.Background(), f.cfg.JobPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return len(jobs)
}

func TestProxyNamesTheReviewer(t *testing.T) {
	rc := DefaultConfig()
	rc.Listen, rc.UserHeader = "0.0.0.0:8080", "X-Forwarded-User"
	f := newFixture(t, rc, 1)
	if f.srv.Token() != "" {
		t.Fatal("a token was made up although a trusted proxy names users")
	}
	c := client(t)
	hdr := map[string]string{"X-Forwarded-User": "dana@example.org"}
	resp, page := do(t, c, "GET", f.url+"/review", nil, hdr)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "dana@example.org") {
		t.Fatalf("the proxy's user: %s", resp.Status)
	}
	csrf := csrfField.FindStringSubmatch(page)[1]
	if resp, _ := do(t, c, "POST", f.url+"/jobs/new", url.Values{"csrf": {csrf}}, hdr); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("new job: %s", resp.Status)
	}
	_, page = do(t, c, "GET", f.url+"/label", nil, hdr)
	item := regexp.MustCompile(`name="item" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	job := regexp.MustCompile(`name="job" value="([^"]+)"`).FindStringSubmatch(page)
	if item == nil || job == nil {
		t.Fatalf("no item on the Label page:\n%s", page)
	}
	if resp, _ := do(t, c, "POST", f.url+"/label/answer", url.Values{"csrf": {csrf}, "job": {job[1]}, "item": {item[1]}, "class": {"legal"}, "action": {"answer"}}, hdr); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer: %s", resp.Status)
	}
	p, err := f.local.Progress(context.Background(), job[1])
	if err != nil || len(p.Reviewers) != 1 || p.Reviewers[0] != "dana@example.org" {
		t.Fatalf("the answer's reviewer: %v %v", p.Reviewers, err)
	}
	// without the header there is no session
	if resp, _ := do(t, client(t), "GET", f.url+"/review", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("no proxy header: %s", resp.Status)
	}
}

func TestItemTextIsNeverMarkup(t *testing.T) {
	f := newFixture(t, loopback(), 1)
	c := client(t)
	csrf := signIn(t, f, c, "alice", "")
	do(t, c, "POST", f.url+"/jobs/new", url.Values{"csrf": {csrf}}, nil)
	seen := false
	for range 20 {
		_, page := do(t, c, "GET", f.url+"/label", nil, nil)
		if strings.Contains(page, "window.__pwned") {
			seen = true
			if strings.Contains(page, "<script>window") || strings.Contains(page, `href="javascript:`) || strings.Contains(page, "<img src=x") {
				t.Fatalf("the item's text reached the page as markup:\n%s", page)
			}
			if !strings.Contains(page, "&lt;script&gt;window.__pwned = 1&lt;/script&gt;") {
				t.Fatalf("the item's text is not shown as text:\n%s", page)
			}
		}
		item := regexp.MustCompile(`name="item" value="([0-9a-f]+)"`).FindStringSubmatch(page)
		job := regexp.MustCompile(`name="job" value="([^"]+)"`).FindStringSubmatch(page)
		if item == nil {
			break
		}
		do(t, c, "POST", f.url+"/label/answer", url.Values{"csrf": {csrf}, "job": {job[1]}, "item": {item[1]}, "action": {"skip"}}, nil)
	}
	if !seen {
		t.Fatal("the hostile item was never shown")
	}
}

func TestReportIsOneSelfContainedFile(t *testing.T) {
	f := newFixture(t, loopback(), 1)
	if _, err := f.srv.Submit(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.srv.WriteReport(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script", "/static/", "<form", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("the report holds %q", bad)
		}
	}
	jobs, _ := f.local.Jobs(context.Background(), f.cfg.JobPrefix)
	for _, want := range []string{"<style>", "<svg", jobs[0].Name, "Labels per class", "Threshold trade-off", "Classifier versions", "Audit of automatic labels"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
