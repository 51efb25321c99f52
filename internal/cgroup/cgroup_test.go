package cgroup

import (
	"errors"
	"fmt"
	"github.com/docingest/docingest/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary serve as a child that allocates and touches the number
// of bytes in DOCINGEST_TEST_CGROUP_ALLOC, then sleeps DOCINGEST_TEST_CGROUP_SLEEP.
func TestMain(m *testing.M) {
	if v := os.Getenv("DOCINGEST_TEST_CGROUP_ALLOC"); v != "" {
		if err := JoinFromEnv(); err != nil {
			os.Exit(3)
		}
		n, _ := strconv.Atoi(v)
		b := make([]byte, n)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		if d, err := time.ParseDuration(os.Getenv("DOCINGEST_TEST_CGROUP_SLEEP")); err == nil {
			time.Sleep(d)
		}
		os.Exit(int(b[len(b)/2]) - 1) // 0: keeps b alive to the end
	}
	os.Exit(m.Run())
}

func child(alloc int, sleep time.Duration) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DOCINGEST_TEST_CGROUP_ALLOC="+strconv.Itoa(alloc),
		"DOCINGEST_TEST_CGROUP_SLEEP="+sleep.String(), "GOGC=off")
	return cmd
}

func TestOwnDirs(t *testing.T) {
	for name, tc := range map[string]struct {
		mountinfo, cgroup string
		v1, v2            string
	}{
		"hybrid, as on this project's build machines": {
			mountinfo: `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`,
			cgroup: "4:memory:/process_api/83\n1:cpu:/\n0::/\n",
			v1:     "/sys/fs/cgroup/memory/process_api/83",
			v2:     "/sys/fs/cgroup/unified",
		},
		"v2 only, a systemd service": {
			mountinfo: "25 20 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
			cgroup:    "0::/system.slice/docingest.service\n",
			v2:        "/sys/fs/cgroup/system.slice/docingest.service",
		},
		"v2 in a container whose mount shows a subtree": {
			mountinfo: "600 590 0:30 /kubepods/pod1/c1 /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n",
			cgroup:    "0::/kubepods/pod1/c1\n",
			v2:        "/sys/fs/cgroup",
		},
		"group outside the mounted subtree": {
			mountinfo: "600 590 0:30 /kubepods/pod1/c1 /sys/fs/cgroup ro - cgroup2 cgroup rw\n",
			cgroup:    "0::/other\n",
		},
		"v1 memory shared with another controller, escaped mount point": {
			mountinfo: `34 30 0:31 / /mnt/cg\040mem rw - cgroup cgroup rw,memory,hugetlb
`,
			cgroup: "5:hugetlb,memory:/a b\n",
			v1:     "/mnt/cg mem/a b",
		},
		"no cgroups": {mountinfo: "22 1 0:21 / /proc rw - proc proc rw\n", cgroup: ""},
	} {
		v1, v2 := ownDirs([]byte(tc.mountinfo), []byte(tc.cgroup))
		if v1 != tc.v1 || v2 != tc.v2 {
			t.Errorf("%s: got v1 %q v2 %q, want %q %q", name, v1, v2, tc.v1, tc.v2)
		}
	}
}

func TestGroupOwner(t *testing.T) {
	for name, want := range map[string]int{
		"docingest-pdf-123-0a1b2c3d-4": 123, "docingest-pdf-1-ff-1": 1,
		"docingest-pdf-x-ab-1": 0, "docingest-pdf-12-1": 0, "docingest-pdf-12--1": 0, "docingest-main": 0,
		"other-12-ab-1": 0, "docingest-pdf-12-ab-y": 0, "docingest-pdf-12-ab-1-2": 0,
	} {
		got, ok := groupOwner(name)
		if got != want || ok != (want > 0) {
			t.Errorf("%s: got %d %v, want %d", name, got, ok, want)
		}
	}
}

// findOrSkip returns the parent docingest would use here. The kernel tests need a
// memory cgroup this process may write (root on a machine with cgroups, or a
// delegated one): without one they are skipped and say why.
func findOrSkip(t *testing.T) *Parent {
	t.Helper()
	p, err := Find("")
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("a memory cgroup this process may write (%v)", err))
	}
	return p
}

// The kernel enforces the cap: a child that touches four times its limit is killed by
// the OOM killer inside its group, and the group says so.
func TestGroupKillsAtTheLimit(t *testing.T) {
	p := findOrSkip(t)
	t.Logf("using %s", p)
	g, err := p.New(32 << 20)
	if err != nil {
		t.Fatal(err)
	}
	cmd := child(128<<20, 0)
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed", err)
	}
	o := g.Outcome()
	if o.OOMKills < 1 {
		t.Errorf("OOM kills %d, want at least 1", o.OOMKills)
	}
	if p.v2 && o.PeakBytes == 0 {
		t.Log("the kernel does not report memory.peak (before 5.19)")
	} else if o.PeakBytes > 33<<20 || o.PeakBytes < 16<<20 { // charged in batches: a few pages over
		t.Errorf("peak %d bytes, want near the 32 MiB limit", o.PeakBytes)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("group left behind: %v", err)
	}
}

// Under the limit the child runs to its end and its peak is measured.
func TestGroupMeasuresPeak(t *testing.T) {
	p := findOrSkip(t)
	g, err := p.New(256 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	cmd := child(64<<20, 0)
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	o := g.Outcome()
	if o.OOMKills != 0 {
		t.Errorf("OOM kills %d under the limit", o.OOMKills)
	}
	if !p.v2 || o.PeakBytes != 0 {
		if o.PeakBytes < 64<<20 || o.PeakBytes > 256<<20 {
			t.Errorf("peak %d bytes, want between the 64 MiB touched and the limit", o.PeakBytes)
		}
	}
}

// Two parents in one process (two pipelines) never pick the same name.
func TestTwoParentsInOneProcess(t *testing.T) {
	a, b := findOrSkip(t), findOrSkip(t)
	ga, err := a.New(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer ga.Close()
	gb, err := b.New(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer gb.Close()
	if ga.Dir() == gb.Dir() {
		t.Fatalf("both made %s", ga.Dir())
	}
}

// Close ends what still runs in the group; Find removes groups of processes that died
// before they could, and keeps those of processes that run.
func TestCloseAndSweep(t *testing.T) {
	p := findOrSkip(t)
	g, err := p.New(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	cmd := child(1<<20, time.Hour)
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	own, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
	if !strings.Contains(string(own), filepath.Base(g.Dir())) {
		t.Errorf("the child is not in its group: %s", own)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close left the child running")
	}

	// a group of a dead docingest, one of a running one
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = live.Process.Kill(); _ = live.Wait() }()
	stale := filepath.Join(p.Dir(), groupPrefix+strconv.Itoa(dead.Process.Pid)+"-ab-7")
	kept := filepath.Join(p.Dir(), groupPrefix+strconv.Itoa(live.Process.Pid)+"-ab-7")
	for _, d := range []string{stale, kept} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	defer syscall.Rmdir(kept)
	if _, err := Find(""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead process's group is still there: %v", err)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("the running process's group was removed: %v", err)
	}
}

// On cgroup v2 the child is born in its group (clone3 into the group's directory). On
// machines where the unified hierarchy lacks the memory controller, a group without a
// limit still shows that.
func TestV2StartsChildInside(t *testing.T) {
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	groups, _ := os.ReadFile("/proc/self/cgroup")
	_, dir := ownDirs(mounts, groups)
	if dir == "" {
		testenv.Missing(t, "a unified cgroup hierarchy")
	}
	p := newParent(dir, true)
	g, err := p.New(0)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("a group in the unified hierarchy (%v)", err))
	}
	defer g.Close()
	cmd := child(1<<20, time.Hour)
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	own, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
	if !strings.Contains(string(own), "0::/") || !strings.Contains(string(own), filepath.Base(g.Dir())) {
		t.Errorf("the child was not born in its group: %s", own)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close left the child running")
	}
}

// Find on a directory that is not a cgroup, or a v2 one without the memory controller,
// says why.
func TestFindExplicitRefuses(t *testing.T) {
	_, err := Find(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "not a cgroup directory") {
		t.Errorf("temp dir: %v", err)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	groups, _ := os.ReadFile("/proc/self/cgroup")
	if _, dir := ownDirs(mounts, groups); dir != "" {
		ctl, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		if !hasField(ctl, "memory") {
			_, err := Find(dir)
			if err == nil || !strings.Contains(err.Error(), "memory controller is not available") {
				t.Errorf("unified hierarchy without memory: %v", err)
			}
		}
	}
}
