// Package cgroup gives a child process a memory cgroup of its own, so that the kernel
// enforces the child's memory cap (its OOM killer acts inside the group, before the
// machine is short) and measures the child's peak exactly, where polling /proc from the
// parent can be late and the rusage of a forked child starts from what it shared with
// its parent.
//
// It handles cgroup v1 (the memory hierarchy) and v2 (the unified hierarchy), finds
// where this process may create groups, and says why when it may not: callers then do
// what they do without one. Groups are named docingest-pdf-<pid>-<id>-<n>; groups left by a
// process that was killed are removed by the next Find.
package cgroup

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	groupPrefix = "docingest-pdf-"
	// leafName is the group this process moves itself into, on cgroup v2, so that its
	// own group may hand the memory controller to its children (v2 allows processes
	// only in leaves).
	leafName = "docingest-main"
)

// Parent is a cgroup under which this process creates one group per child.
type Parent struct {
	dir string
	v2  bool
	// id tells this Parent's groups from those of another Parent of the same process
	id  string
	seq atomic.Uint64
}

// String names the hierarchy and the directory, for logs.
func (p *Parent) String() string {
	v := "v1"
	if p.v2 {
		v = "v2"
	}
	return "cgroup " + v + " " + p.dir
}

// Dir is the parent group's directory.
func (p *Parent) Dir() string { return p.dir }

// Find returns the parent for child groups. With dir empty it looks for this process's
// own memory cgroup (the v1 memory hierarchy first, then the unified one) and checks
// that a group can be made there with a memory limit; on v2, when this process is the
// only one in its group and the memory controller is not yet handed down, it moves
// itself into a leaf group, docingest-main, and enables the controller for the
// children. A dir names a delegated cgroup directory to use instead. The error says why
// no group can be made.
func Find(dir string) (*Parent, error) {
	var p *Parent
	var err error
	if dir != "" {
		p, err = explicit(dir)
	} else {
		p, err = auto()
	}
	if err != nil {
		return nil, err
	}
	p.sweep()
	return p, nil
}

func newParent(dir string, v2 bool) *Parent {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Parent{dir: dir, v2: v2, id: hex.EncodeToString(b[:])}
}

func explicit(dir string) (*Parent, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	switch st.Type {
	case unix.CGROUP_SUPER_MAGIC:
		p := newParent(dir, false)
		return p, p.probe()
	case unix.CGROUP2_SUPER_MAGIC:
		return v2Parent(dir, false)
	}
	return nil, fmt.Errorf("cgroup %s: not a cgroup directory", dir)
}

func auto() (*Parent, error) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	groups, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	v1, v2 := ownDirs(mounts, groups)
	var reasons []string
	if v1 != "" {
		p := newParent(v1, false)
		if err := p.probe(); err == nil {
			return p, nil
		} else {
			reasons = append(reasons, err.Error())
		}
	}
	if v2 != "" {
		p, err := v2Parent(v2, true)
		if err == nil {
			return p, nil
		}
		reasons = append(reasons, err.Error())
	}
	if len(reasons) == 0 {
		return nil, errors.New("cgroup: no memory cgroup hierarchy is mounted")
	}
	return nil, errors.New(strings.Join(reasons, "; "))
}

// ownDirs finds this process's memory cgroup directories from the text of
// /proc/self/mountinfo and /proc/self/cgroup: v1 in the hierarchy that has the memory
// controller, v2 in the unified one ("" where there is none).
func ownDirs(mountinfo, cgroups []byte) (v1, v2 string) {
	type mount struct{ root, point string }
	var m1, m2 *mount
	for _, line := range strings.Split(string(mountinfo), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		m := &mount{root: unescape(f[3]), point: unescape(f[4])}
		switch {
		case g[0] == "cgroup2" && m2 == nil:
			m2 = m
		case g[0] == "cgroup" && m1 == nil && hasOption(g[2], "memory"):
			m1 = m
		}
	}
	for _, line := range strings.Split(string(cgroups), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "" && m2 != nil:
			v2 = under(m2.root, m2.point, f[2])
		case m1 != nil && hasOption(f[1], "memory"):
			v1 = under(m1.root, m1.point, f[2])
		}
	}
	return v1, v2
}

// under maps a cgroup path to a directory of a mount whose root is root ("" when the
// group is outside what the mount shows).
func under(root, point, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return ""
	}
	return filepath.Join(point, rel)
}

func hasOption(list, want string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// probe makes and removes a v1 group with a memory limit.
func (p *Parent) probe() error {
	g, err := p.New(64 << 20)
	if err != nil {
		return err
	}
	return g.Close()
}

// v2Parent checks a unified-hierarchy directory: it must offer the memory controller
// and hand it to its children. When it does not yet, and this process is alone in it,
// the process moves into a leaf and enables the controller (move says it may).
func v2Parent(dir string, move bool) (*Parent, error) {
	ctl, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroup v2 %s: %w", dir, err)
	}
	if !hasField(ctl, "memory") {
		return nil, fmt.Errorf("cgroup v2 %s: the memory controller is not available there", dir)
	}
	sub, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return nil, fmt.Errorf("cgroup v2 %s: %w", dir, err)
	}
	if !hasField(sub, "memory") {
		if move {
			if err := leaveForLeaf(dir); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory"), 0); err != nil {
			return nil, fmt.Errorf("cgroup v2 %s: enable the memory controller for children: %w", dir, err)
		}
	}
	p := newParent(dir, true)
	return p, p.probe()
}

// leaveForLeaf moves this process out of dir into dir/docingest-main, if it is the only
// process in dir.
func leaveForLeaf(dir string) error {
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return fmt.Errorf("cgroup v2 %s: %w", dir, err)
	}
	self := strconv.Itoa(os.Getpid())
	for _, pid := range strings.Fields(string(procs)) {
		if pid != self {
			return fmt.Errorf("cgroup v2 %s: other processes (%s) share this process's group, so it cannot hand the memory controller down", dir, pid)
		}
	}
	leaf := filepath.Join(dir, leafName)
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cgroup v2 %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(self), 0); err != nil {
		_ = os.Remove(leaf)
		return fmt.Errorf("cgroup v2 %s: move this process into %s: %w", dir, leafName, err)
	}
	return nil
}

func hasField(b []byte, want string) bool {
	for _, f := range strings.Fields(string(b)) {
		if f == want {
			return true
		}
	}
	return false
}

// sweep removes groups left by docingest processes that no longer run (killed before
// they could remove them). A group whose tasks still run is left alone.
func (p *Parent) sweep() {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := groupOwner(e.Name())
		if !e.IsDir() || !ok || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // the owner still runs
		}
		_ = syscall.Rmdir(filepath.Join(p.dir, e.Name()))
	}
}

// groupOwner reads the pid from a name docingest-pdf-<pid>-<parent id>-<n>.
func groupOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, groupPrefix)
	if !ok {
		return 0, false
	}
	f := strings.Split(rest, "-")
	if len(f) != 3 || f[1] == "" {
		return 0, false
	}
	if _, err := strconv.ParseUint(f[2], 10, 64); err != nil {
		return 0, false
	}
	v, err := strconv.Atoi(f[0])
	return v, err == nil && v > 0
}

// Group is the cgroup of one child.
type Group struct {
	dir string
	v2  bool
	fd  *os.File // v2: the directory, to start the child inside it
}

// New makes a group whose memory (resident plus swap, where the kernel accounts swap)
// is capped at limit bytes; limit 0 makes one that only measures.
func (p *Parent) New(limit int64) (*Group, error) {
	name := groupPrefix + strconv.Itoa(os.Getpid()) + "-" + p.id + "-" + strconv.FormatUint(p.seq.Add(1), 10)
	g := &Group{dir: filepath.Join(p.dir, name), v2: p.v2}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: make a group: %w", p, err)
	}
	if err := g.setLimit(limit); err != nil {
		_ = g.Close()
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if g.v2 {
		fd, err := os.Open(g.dir)
		if err != nil {
			_ = g.Close()
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		g.fd = fd
	}
	return g, nil
}

func (g *Group) setLimit(limit int64) error {
	if limit <= 0 {
		return nil
	}
	v := []byte(strconv.FormatInt(limit, 10))
	if g.v2 {
		if err := g.write("memory.max", v); err != nil {
			return err
		}
		// no swap, where swap is accounted; one OOM kill takes the whole group
		_ = g.writeIfPresent("memory.swap.max", []byte("0"))
		_ = g.writeIfPresent("memory.oom.group", []byte("1"))
		return nil
	}
	if err := g.write("memory.limit_in_bytes", v); err != nil {
		return err
	}
	// What a child touched before it joined moves into the group with it (anonymous and
	// file pages), so that it counts against the limit and in the peak.
	_ = g.writeIfPresent("memory.move_charge_at_immigrate", []byte("3"))
	return g.writeIfPresent("memory.memsw.limit_in_bytes", v)
}

func (g *Group) write(file string, v []byte) error {
	if err := os.WriteFile(filepath.Join(g.dir, file), v, 0); err != nil {
		return fmt.Errorf("set %s: %w", file, err)
	}
	return nil
}

func (g *Group) writeIfPresent(file string, v []byte) error {
	err := g.write(file, v)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Dir is the group's directory.
func (g *Group) Dir() string { return g.dir }

// EnvProcs names, in the environment of a child that Group.Start starts on cgroup v1, the
// cgroup.procs file of its group: a child that calls JoinFromEnv first thing runs inside
// its group from its first allocations on.
const EnvProcs = "DOCINGEST_CGROUP_PROCS"

// JoinFromEnv moves the calling process into the group named by EnvProcs, if any. Children
// call it before doing anything else; it is harmless when the parent moved them already.
func JoinFromEnv() error {
	procs := os.Getenv(EnvProcs)
	if procs == "" {
		return nil
	}
	os.Unsetenv(EnvProcs) // not for grandchildren
	return os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0)
}

// Start starts cmd inside the group: on v2 the child is born there (clone3 into the
// group's directory). On v1, where that cannot be, the child joins its group itself first
// thing (JoinFromEnv), the parent moves it as soon as it starts in any case, and what it
// touched before moves with it (memory.move_charge_at_immigrate); the caller must still
// not give it work (its standard input) before Start returns.
func (g *Group) Start(cmd *exec.Cmd) error {
	if g.v2 {
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(g.fd.Fd())
		return cmd.Start()
	}
	cmd.Env = append(cmd.Environ(), EnvProcs+"="+filepath.Join(g.dir, "cgroup.procs"))
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := g.write("cgroup.procs", []byte(strconv.Itoa(cmd.Process.Pid))); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("cgroup v1 %s: %w", g.dir, err)
	}
	return nil
}

// Outcome is what the kernel counted for a group.
type Outcome struct {
	// PeakBytes is the group's highest memory use (0 where the kernel does not say).
	PeakBytes int64
	// OOMKills counts the processes the OOM killer ended in the group.
	OOMKills int64
}

// Outcome reads the group's peak and OOM kills; call it after the child has ended.
func (g *Group) Outcome() Outcome {
	var o Outcome
	if g.v2 {
		o.PeakBytes = g.readInt("memory.peak")
		o.OOMKills = g.readKey("memory.events", "oom_kill")
	} else {
		o.PeakBytes = g.readInt("memory.max_usage_in_bytes")
		o.OOMKills = g.readKey("memory.oom_control", "oom_kill")
	}
	return o
}

func (g *Group) readInt(file string) int64 {
	b, err := os.ReadFile(filepath.Join(g.dir, file))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	return n
}

// readKey reads "key value" from a flat-keyed file.
func (g *Group) readKey(file, key string) int64 {
	f, err := os.Open(filepath.Join(g.dir, file))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// Close kills whatever still runs in the group and removes it.
func (g *Group) Close() error {
	if g.fd != nil {
		_ = g.fd.Close()
	}
	var err error
	for i := 0; i < 100; i++ {
		if err = syscall.Rmdir(g.dir); err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		g.kill()
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("cgroup: remove %s: %w", g.dir, err)
}

func (g *Group) kill() {
	if g.v2 && g.write("cgroup.kill", []byte("1")) == nil {
		return
	}
	b, _ := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
