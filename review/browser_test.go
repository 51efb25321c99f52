package review

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/docingest/docingest/internal/testenv"
	"github.com/docingest/docingest/labeling"
)

// browser returns a function that starts Debian's Chromium headless
// (DOCINGEST_TEST_CHROMIUM, which scripts/test sets, or /usr/bin/chromium) with a profile
// of its own: one browser, and so one cookie jar, per reviewer.
func browser(t *testing.T) func() (context.Context, context.CancelFunc) {
	t.Helper()
	exe := os.Getenv("DOCINGEST_TEST_CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		testenv.Missing(t, "Chromium ("+exe+")")
	}
	return func() (context.Context, context.CancelFunc) {
		// Starting the browser is not under test: a start that fails (seen once in many
		// runs on a loaded machine, the process gone before it printed its address) is
		// tried again, up to three times; nothing the tests assert is ever retried.
		var err error
		for attempt := 1; attempt <= 3; attempt++ {
			ctx, cancel, e := startChromium(exe)
			if e == nil {
				return ctx, cancel
			}
			err = e
			t.Logf("start Chromium, attempt %d: %v", attempt, e)
		}
		t.Fatalf("start Chromium: %v", err)
		return nil, nil
	}
}

// startChromium starts one headless Chromium with a profile of its own, removed when the
// browser has gone (not by t.TempDir, whose cleanup can race Chromium's last writes).
func startChromium(exe string) (context.Context, context.CancelFunc, error) {
	profile, err := os.MkdirTemp("", "docingest-chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-crash-reporter", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1100, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	stop := func() { cancelT(); cancel(); cancelAlloc(); _ = os.RemoveAll(profile) }
	if err := chromedp.Run(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	return ctx, stop, nil
}

// artifacts is where screenshots go (DOCINGEST_TEST_ARTIFACTS, else test-artifacts/ at the
// repository's root; git-ignored).
func artifacts(t *testing.T) string {
	dir := os.Getenv("DOCINGEST_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "test-artifacts")
	}
	dir = filepath.Join(dir, "review")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(artifacts(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func signInBrowser(t *testing.T, ctx context.Context, base, name, token string) {
	t.Helper()
	actions := []chromedp.Action{chromedp.Navigate(base + "/label"), chromedp.WaitVisible("#name", chromedp.ByID), chromedp.SendKeys("#name", name, chromedp.ByID)}
	if token != "" {
		actions = append(actions, chromedp.SendKeys("#token", token, chromedp.ByID))
	}
	run(t, ctx, "sign in as "+name, append(actions, chromedp.Evaluate(`window.__old = true`, nil), chromedp.Submit("#name", chromedp.ByID))...)
	waitNewPage(t, ctx, "sign in as "+name)
}

// current is the item the Label page shows ("" when none) and its text.
func current(t *testing.T, ctx context.Context) (item, text string) {
	t.Helper()
	run(t, ctx, "read the Label page", chromedp.WaitReady("body", chromedp.ByQuery),
		chromedp.Evaluate(`(() => { const e = document.getElementById("item"); return e ? e.dataset.item : ""; })()`, &item),
		chromedp.Evaluate(`(() => { const e = document.getElementById("text"); return e ? e.textContent : ""; })()`, &text))
	return item, text
}

// press sends keys to the page.
func press(t *testing.T, ctx context.Context, keys string) {
	t.Helper()
	run(t, ctx, "press "+keys, chromedp.KeyEvent(keys))
}

// pressAndLoad sends keys that submit a form and waits until the page the form led to has
// loaded: the old page is marked first, so its own notice is never taken for the new one.
func pressAndLoad(t *testing.T, ctx context.Context, keys string) {
	t.Helper()
	run(t, ctx, "press "+keys, chromedp.Evaluate(`window.__old = true`, nil), chromedp.KeyEvent(keys))
	waitNewPage(t, ctx, "press "+keys)
}

// waitNewPage waits until the page marked with window.__old has been replaced by a loaded
// one.
func waitNewPage(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	waitFor(t, ctx, what, `window.__old === undefined && document.readyState === "complete"`)
}

// waitFor waits until a script expression is true on the page.
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok bool
		// while the page changes, its script context goes away: an error means "not yet"
		err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ok))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the next page did not load (%v)", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLabelInTheBrowser(t *testing.T) {
	newCtx := browser(t)
	f := newFixture(t, loopback(), 1)
	ctxA, cancelA := newCtx()
	defer cancelA()
	ctxB, cancelB := newCtx()
	defer cancelB()
	signInBrowser(t, ctxA, f.url, "alice", "")
	signInBrowser(t, ctxB, f.url, "bob", "")
	var before string
	run(t, ctxA, "the Review page before any label", chromedp.Navigate(f.url+"/review"), chromedp.WaitVisible("#new-job", chromedp.ByID),
		chromedp.Evaluate(`document.querySelector("p code:last-of-type") ? [...document.querySelectorAll("code")].map(c => c.textContent).find(s => s.startsWith("clf-")) : ""`, &before))
	if !strings.HasPrefix(before, "clf-") {
		t.Fatalf("no classifier version on the Review page: %q", before)
	}
	run(t, ctxA, "create a job", chromedp.Click("#new-job", chromedp.ByID), chromedp.WaitVisible("#item", chromedp.ByID))
	screenshot(t, ctxA, "label")
	run(t, ctxB, "bob opens the job", chromedp.Navigate(f.url+"/label"), chromedp.WaitReady("body", chromedp.ByQuery))
	a, _ := current(t, ctxA)
	b, _ := current(t, ctxB)
	if a == "" || b == "" || a == b {
		t.Fatalf("two reviewers at once were shown %q and %q", a, b)
	}
	// label every item by keyboard, alice and bob in turns; alice undoes one answer
	digit := map[string]string{"administration": "1", "packaging": "2", "legal": "3"}
	labeled, undone, hostileSeen := 0, false, false
	for turn := 0; turn < 80 && labeled < 20; turn++ {
		ctx := []context.Context{ctxA, ctxB}[turn%2]
		run(t, ctx, "reload", chromedp.Navigate(f.url+"/label"), chromedp.WaitReady("body", chromedp.ByQuery))
		item, text := current(t, ctx)
		if item == "" {
			continue
		}
		class := classOf(text)
		if class == "" {
			t.Fatalf("the page shows a text the fixture does not hold: %q", text)
		}
		if text == hostile {
			hostileSeen = true
			var pwned bool
			var scripts int
			run(t, ctx, "look for the hostile item's script", chromedp.Evaluate(`window.__pwned !== undefined`, &pwned),
				chromedp.Evaluate(`document.querySelectorAll("#text script, #text img, #text a").length`, &scripts))
			if pwned || scripts != 0 {
				t.Fatalf("the item's text ran as markup (script ran: %v, elements: %d)", pwned, scripts)
			}
			screenshot(t, ctx, "label-hostile")
		}
		press(t, ctx, digit[class])
		var checked string
		run(t, ctx, "read the chosen class", chromedp.Evaluate(`(document.querySelector("input[name=class]:checked") || {}).value || ""`, &checked))
		if checked != class {
			t.Fatalf("pressing %s chose %q, not %s", digit[class], checked, class)
		}
		pressAndLoad(t, ctx, kb.Enter)
		labeled++
		if !undone && ctx == ctxA && labeled > 4 {
			pressAndLoad(t, ctx, "u")
			again, _ := current(t, ctx)
			if again != item {
				t.Fatalf("undo showed %q, not the item just answered (%q)", again, item)
			}
			undone, labeled = true, labeled-1
			pressAndLoad(t, ctx, "s") // skip it: bob gets it
		}
	}
	if labeled != 20 || !undone || !hostileSeen {
		t.Fatalf("labeled %d of 20 by keyboard (undone %v, hostile item seen %v)", labeled, undone, hostileSeen)
	}
	if n := answers(t, f); n != 21 { // 20 answers and alice's skip
		t.Fatalf("%d answer objects, want 20 answers and 1 skip", n)
	}
	// a page of another origin posting to the app: refused, nothing written
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id="f" method="post" action="%s/jobs/new"><input name="csrf" value="guess"></form><script>document.getElementById("f").submit()</script>`, f.url)
	}))
	defer evil.Close()
	var refused string
	run(t, ctxA, "a cross-site POST", chromedp.Navigate(evil.URL))
	waitFor(t, ctxA, "the cross-site POST's answer", `location.href.indexOf("/jobs/new") >= 0 && document.readyState === "complete"`)
	run(t, ctxA, "read the answer", chromedp.Text("body", &refused, chromedp.ByQuery))
	if !strings.Contains(strings.ToLower(refused), "cross-origin") && !strings.Contains(refused, "CSRF") {
		t.Fatalf("the cross-site POST was answered with %q", refused)
	}
	if n := countJobs(t, f); n != 1 {
		t.Fatalf("%d jobs after the cross-site POST, want 1", n)
	}
	// collect in the browser: the labels come in and the classifier changes version
	var after string
	run(t, ctxA, "collect", chromedp.Navigate(f.url+"/review"), chromedp.WaitVisible("#collect", chromedp.ByID), chromedp.Click("#collect", chromedp.ByID),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("code")].map(c => c.textContent).find(s => s.startsWith("clf-")) || ""`, &after))
	human, err := labeling.LoadHumanLabels(context.Background(), f.out)
	if err != nil || len(human) != 20 {
		t.Fatalf("%d human labels after collect, %v", len(human), err)
	}
	for _, h := range human {
		if h.Classes[0] != classOf(h.Text) {
			t.Fatalf("%q labeled %v", h.Text, h.Classes)
		}
	}
	if after == before || !strings.HasPrefix(after, "clf-") {
		t.Fatalf("the classifier version did not change with collect: %q then %q", before, after)
	}
	var versions int
	run(t, ctxA, "classifier versions", chromedp.Evaluate(`document.querySelectorAll("#versions tbody tr").length`, &versions))
	if versions < 2 {
		t.Fatalf("%d classifier versions listed", versions)
	}
	screenshot(t, ctxA, "review")
	run(t, ctxA, "the Audit page", chromedp.Navigate(f.url+"/audit"), chromedp.WaitVisible("#audit-accuracy", chromedp.ByID))
	screenshot(t, ctxA, "audit")
}

func TestBrowserOffLoopbackNeedsTheToken(t *testing.T) {
	newCtx := browser(t)
	rc := DefaultConfig()
	rc.Listen = "0.0.0.0:8080"
	f := newFixture(t, rc, 1)
	ctx, cancel := newCtx()
	defer cancel()
	var msg string
	signInBrowser(t, ctx, f.url, "mallory", "not-the-token")
	run(t, ctx, "the refusal", chromedp.WaitVisible(".error", chromedp.ByQuery), chromedp.Text(".error", &msg, chromedp.ByQuery))
	if msg != "wrong token" {
		t.Fatalf("a wrong token: %q", msg)
	}
	screenshot(t, ctx, "login-refused")
	var path string
	run(t, ctx, "the Review page", chromedp.Navigate(f.url+"/review"), chromedp.WaitReady("body", chromedp.ByQuery), chromedp.Evaluate(`location.pathname`, &path))
	if path != "/login" {
		t.Fatalf("without the token the Review page showed %s", path)
	}
	signInBrowser(t, ctx, f.url, "alice", f.srv.Token())
	run(t, ctx, "signed in", chromedp.WaitVisible("#reviewer", chromedp.ByID), chromedp.Text("#reviewer", &msg, chromedp.ByID))
	if msg != "alice" {
		t.Fatalf("signed in as %q", msg)
	}
}
