package testenv

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a private redis-server that a test may freeze, kill and
// restart without disturbing the shared one. It listens on a free
// 127.0.0.1 port and keeps its files in a temporary directory.
type RedisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string
	cmd  *exec.Cmd
}

// StartRedis starts a RedisServer with the binary named by
// SOCKUDO_TEST_REDIS_SERVER_BIN (see Lookup) and extra redis-server
// arguments (persistence is off unless they turn it on), and kills it when
// t ends.
func StartRedis(t testing.TB, args ...string) *RedisServer {
	t.Helper()
	bin := Lookup(t, "SOCKUDO_TEST_REDIS_SERVER_BIN")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &RedisServer{t: t, bin: bin, dir: t.TempDir(), port: port, args: args}
	t.Cleanup(r.Kill)
	r.Start()
	return r
}

// Addr is the server's host:port.
func (r *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// Start (re)starts the server on its port and waits until it answers
// PING (not merely accepts connections: it may still be loading its data).
func (r *RedisServer) Start() {
	r.t.Helper()
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(r.port), "--dir", r.dir,
		"--save", "", "--appendonly", "no"}, r.args...)
	r.cmd = exec.Command(r.bin, args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start %s: %v", r.bin, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r.pong() {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not answer PING", r.Addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *RedisServer) pong() bool {
	c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 7)
	n, _ := c.Read(buf)
	return strings.HasPrefix(string(buf[:n]), "+PONG")
}

// Signal sends sig to the server (SIGSTOP freezes it, SIGCONT resumes it).
func (r *RedisServer) Signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Kill stops the server abruptly, as a crash would, and reaps it.
func (r *RedisServer) Kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}
