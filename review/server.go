// Package review is docingest's labeling web app: people label the items of local jobs
// (Label), the data team sees every job and how the classifier is doing (Review), and
// checks a random sample of automatic labels (Audit). It is Go's net/http and
// html/template with its assets embedded: no CDN, no build step, charts drawn as SVG on
// the server.
package review

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/docingest/docingest/labeling"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Config is the review section of the configuration file.
type Config struct {
	Listen string `yaml:"listen" doc:"address docingest review serves on; any address but loopback needs token or user_header"`
	// Token is the shared secret reviewers sign in with; required off loopback unless a
	// trusted proxy names the user (UserHeader). One is made up and printed when missing.
	Token string `yaml:"token" doc:"secret reviewers sign in with (off loopback; printed at start when not set; DOCINGEST_REVIEW_TOKEN)"`
	// UserHeader is the request header a trusted reverse proxy sets to the signed-in user
	// (X-Forwarded-User, X-Auth-Request-User...). Set it only when every request comes
	// through that proxy.
	UserHeader   string `yaml:"user_header" doc:"header a trusted reverse proxy sets to the signed-in user (only when every request comes through it)"`
	LeaseSeconds int    `yaml:"lease_seconds" doc:"how long an item shown to a reviewer is kept from the others"`
}

// DefaultConfig serves on loopback.
func DefaultConfig() Config { return Config{Listen: "127.0.0.1:8080", LeaseSeconds: 600} }

// Validate names the bad field.
func (c Config) Validate() []error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("review.listen: %q is not host:port: %w", c.Listen, err))
	}
	if c.LeaseSeconds < 10 || c.LeaseSeconds > 86400 {
		errs = append(errs, fmt.Errorf("review.lease_seconds: must be between 10 and 86400, got %d", c.LeaseSeconds))
	}
	if c.Token != "" && len(c.Token) < 16 {
		errs = append(errs, errors.New("review.token: must be at least 16 characters"))
	}
	return errs
}

// Loopback reports whether an address only accepts connections from this machine.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is the web app over one output.
type Server struct {
	Labeling labeling.Config
	Review   Config
	Store    labeling.VersionedStore
	Local    *labeling.Local
	// Backend reads every job (local and Ground Truth) and stops them.
	Backend labeling.Backend
	// Model is the current classifier given the human labels (nil: charts that need it
	// say so).
	Model func(ctx context.Context, human map[string]labeling.HumanLabel) (*labeling.Model, error)
	// Submit creates a job from the pending items (auditItems 0) or an audit job.
	Submit func(ctx context.Context, auditItems int) (labeling.SubmitResult, error)
	// Collect brings ended jobs' labels in and retrains the classifier.
	Collect func(ctx context.Context) ([]labeling.CollectResult, *labeling.Model, error)
	Logger  *slog.Logger
	Now     func() time.Time

	secret   []byte
	token    string
	pages    map[string]*template.Template
	versions *versionCache
	caches   caches
}

// Init checks the settings and prepares the server. A token is required off loopback
// (unless a trusted proxy names users); when none is configured one is made up: Token
// returns it to be printed.
func (s *Server) Init() error {
	if errs := s.Review.Validate(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	s.secret = make([]byte, 32)
	if _, err := rand.Read(s.secret); err != nil {
		return err
	}
	s.token = s.Review.Token
	if s.token == "" && !Loopback(s.Review.Listen) && s.Review.UserHeader == "" {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		s.token = base64.RawURLEncoding.EncodeToString(b)
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	s.versions = &versionCache{seen: map[string]Version{}}
	var err error
	s.pages, err = parsePages()
	return err
}

// Token is the token reviewers sign in with ("" when none is needed).
func (s *Server) Token() string { return s.token }

// Handler is the app: security headers on every response, cross-origin requests that
// change anything refused, a signed-in reviewer required but for the sign-in page and
// the assets, and a CSRF token checked on every POST.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/label", http.StatusSeeOther) })
	mux.Handle("GET /label", s.signedIn(s.labelPage))
	mux.Handle("POST /label/answer", s.signedIn(s.answer))
	mux.Handle("POST /label/undo", s.signedIn(s.undo))
	mux.Handle("GET /review", s.signedIn(s.reviewPage))
	mux.Handle("POST /jobs/new", s.signedIn(s.newJob))
	mux.Handle("POST /jobs/stop", s.signedIn(s.stopJob))
	mux.Handle("POST /collect", s.signedIn(s.collect))
	mux.Handle("GET /audit", s.signedIn(s.auditPage))
	mux.Handle("POST /audit/new", s.signedIn(s.newAudit))
	mux.Handle("POST /logout", s.signedIn(s.logout))
	cop := http.NewCrossOriginProtection()
	return headers(cop.Handler(mux))
}

// contentSecurityPolicy lets a page load only this app's own script and style: no inline
// script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// session is who signed in; the cookie holds it with an HMAC, and its nonce keys the CSRF
// token.
type session struct {
	Name  string `json:"n"`
	Nonce string `json:"k"`
}

const cookieName = "docingest_review"

func (s *Server) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) csrfToken(ss session) string { return s.mac("csrf", ss.Nonce) }

func (s *Server) sessionOf(r *http.Request) (session, bool) {
	if s.Review.UserHeader != "" {
		if u := strings.TrimSpace(r.Header.Get(s.Review.UserHeader)); u != "" {
			// the proxy's user; the nonce is derived so the CSRF token is stable per user
			return session{Name: u, Nonce: s.mac("proxy", u)}, true
		}
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	body, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac("session", body))) {
		return session{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return session{}, false
	}
	var ss session
	if json.Unmarshal(raw, &ss) != nil || ss.Name == "" {
		return session{}, false
	}
	return ss, true
}

type ctxKey struct{}

// signedIn requires a reviewer, and on POST the CSRF token of their session.
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, ok := s.sessionOf(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrfToken(ss))) != 1 {
				http.Error(w, "the form's CSRF token is missing or wrong: reload the page", http.StatusForbidden)
				return
			}
		}
		h(w, r, ss)
	})
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.sessionOf(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, "login", pageData{Title: "Sign in", Data: map[string]any{"NeedToken": s.token != "", "Next": safeNext(r.URL.Query().Get("next"))}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	next := safeNext(r.PostFormValue("next"))
	fail := func(msg string) {
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, "login", pageData{Title: "Sign in", Error: msg, Data: map[string]any{"NeedToken": s.token != "", "Next": next}})
	}
	if s.token != "" && subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(s.token)) != 1 {
		fail("wrong token")
		return
	}
	if name == "" || len(name) > 100 || strings.ContainsAny(name, "\x00\r\n") {
		fail("give your name (up to 100 characters): every answer records its reviewer")
		return
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	raw, _ := json.Marshal(session{Name: name, Nonce: hex.EncodeToString(nonce)})
	body := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: body + "." + s.mac("session", body), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 7 * 24 * 3600})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ session) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect target on this site (a path, never //host or a scheme).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/label"
	}
	return next
}
