package lab

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one program the lab started, in its own process group so that
// it and everything it forks are stopped together.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
	err  error         // its exit status, valid after done
	log  *os.File
	// intFirst stops it with SIGINT before SIGTERM (tools that write
	// their report on an interrupt).
	intFirst bool
}

// procs tracks every process of a lab run.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

// start runs argv in network namespace ns ("" for the root namespace) in
// directory dir, output going to logPath (or discarded when empty).
func (ps *procs) start(ns, name, dir, logPath string, argv ...string) (*proc, error) {
	if ns != "" {
		ipPath, err := progIP.find("ip")
		if err != nil {
			return nil, err
		}
		argv = append([]string{ipPath, "netns", "exec", ns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// Setpgid: the whole group is signalled at stop. Pdeathsig: should
	// flowguard itself be killed outright, its children die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Dir = dir // tools drop restore and session files there
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		p.log = f
		cmd.Stdout, cmd.Stderr = f, f
	} else {
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	}
	// Registered under the lock before it starts, so a concurrent
	// teardown cannot miss it.
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := cmd.Start(); err != nil {
		if p.log != nil {
			p.log.Close()
		}
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	ps.list = append(ps.list, p)
	go func() {
		p.err = cmd.Wait()
		if p.log != nil {
			p.log.Close()
		}
		close(p.done)
	}()
	return p, nil
}

// running reports whether p has not exited yet.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// wait waits up to d for p to exit and reports whether it did.
func (p *proc) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// stop ends p's process group: SIGINT (for tools that report on it), then
// SIGTERM, then SIGKILL, each after a grace period. It returns once p has
// been reaped.
func (p *proc) stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	if p.running() && p.intFirst {
		syscall.Kill(-pgid, syscall.SIGINT)
		p.wait(grace)
	}
	if p.running() {
		syscall.Kill(-pgid, syscall.SIGTERM)
		p.wait(grace)
	}
	// The group may outlive its leader; SIGKILL whatever is left of it.
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

// stopAll stops every tracked process, the newest first.
func (ps *procs) stopAll(grace time.Duration) {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	var wg sync.WaitGroup
	for i := len(list) - 1; i >= 0; i-- {
		wg.Add(1)
		go func(p *proc) { defer wg.Done(); p.stop(grace) }(list[i])
	}
	wg.Wait()
}

// pids returns every pid ever started (group leaders), for tests.
func (ps *procs) pids() []int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []int
	for _, p := range ps.list {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// exitError describes how p ended, with the tail of its log.
func (p *proc) exitError(logPath string) error {
	msg := "exited"
	if p.err != nil {
		msg = p.err.Error()
	}
	if b, err := os.ReadFile(logPath); err == nil && len(b) > 0 {
		s := strings.TrimSpace(string(b))
		if len(s) > 400 {
			s = "..." + s[len(s)-400:]
		}
		return fmt.Errorf("%s %s: %s", p.name, msg, s)
	}
	return errors.New(p.name + " " + msg)
}
