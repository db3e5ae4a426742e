package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ownerDir records which process owns which lab (ID → "PID STARTTIME"),
// so that the leftovers of a lab whose flowguard was killed outright
// (SIGKILL, power loss: no deferred teardown ran) can be told from a
// parallel run's lab.
const ownerDir = "/run/flowguard-lab"

// recordOwner notes that this process owns lab id.
func recordOwner(id string) error {
	if err := os.MkdirAll(ownerDir, 0o755); err != nil {
		return err
	}
	st, err := procStart(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(ownerDir, id), []byte(fmt.Sprintf("%d %d\n", os.Getpid(), st)), 0o644)
}

// procStart is a process's start time in clock ticks since boot, which
// with its pid identifies it across pid reuse.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, errors.New("bad /proc stat")
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22, starttime
}

// ownerAlive reports whether lab id's owner still runs.
func ownerAlive(id string) bool {
	b, err := os.ReadFile(filepath.Join(ownerDir, id))
	if err != nil {
		return false
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscan(string(b), &pid, &start); err != nil {
		return false
	}
	st, err := procStart(pid)
	return err == nil && st == start
}

var (
	nsPattern   = regexp.MustCompile(`^fglab-([0-9a-f]{4})-`)
	linkPattern = regexp.MustCompile(`^fg-([0-9a-f]{4})-`)
)

// Clean removes the remains of labs whose flowguard process is gone: their
// processes, namespaces, links and scratch directories. Labs of running
// processes are left alone. It returns the IDs it cleaned.
func Clean(ctx context.Context) ([]string, error) {
	ip, err := progIP.find("ip")
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, ip, "netns", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	nss := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			if m := nsPattern.FindStringSubmatch(f[0]); m != nil {
				nss[m[1]] = append(nss[m[1]], f[0])
			}
		}
	}
	links := map[string][]string{}
	ents, _ := os.ReadDir("/sys/class/net")
	for _, e := range ents {
		if m := linkPattern.FindStringSubmatch(e.Name()); m != nil {
			links[m[1]] = append(links[m[1]], e.Name())
		}
	}
	owners, _ := os.ReadDir(ownerDir)
	ids := map[string]bool{}
	for id := range nss {
		ids[id] = true
	}
	for id := range links {
		ids[id] = true
	}
	for _, o := range owners {
		ids[o.Name()] = true
	}
	var cleaned []string
	var errs []error
	for id := range ids {
		if ownerAlive(id) {
			continue
		}
		for _, ns := range nss[id] {
			for range 3 {
				pids := nsPids(ip, ns)
				if len(pids) == 0 {
					break
				}
				for _, pid := range pids {
					syscall.Kill(pid, syscall.SIGKILL)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err := runCmd(ctx, ip, "netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
		for _, l := range links[id] {
			// A veth whose peer was in a namespace just deleted goes away
			// by itself, possibly between the check and the delete: only
			// a link still there is a failure.
			if linkExists(l) {
				if err := runCmd(ctx, ip, "link", "del", l); err != nil && linkExists(l) {
					errs = append(errs, err)
				}
			}
		}
		dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "flowguard-lab-"+id+"-*"))
		for _, d := range dirs {
			os.RemoveAll(d)
		}
		os.Remove(filepath.Join(ownerDir, id))
		cleaned = append(cleaned, id)
	}
	slices.Sort(cleaned)
	return cleaned, errors.Join(errs...)
}
