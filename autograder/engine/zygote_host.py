"""The trusted side of a sandbox's processes: the zygote's control socket (zygote.py is the
other end), one task's forked worker, and the drain that keeps a bounded head and tail of
what a process prints.

Trust boundary: everything that comes back over these pipes and sockets is student data.
The zygote's replies are bounded (one 4 KiB packet, JSON objects only) and only steer which
process to wait for or kill; a task's verdict never comes from here, only a worker's exit
status (from the zygote's waitpid) and the trusted side's own clock.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

from autograder.engine.inside import wire
from autograder.engine.pids import close_process


class OutputTail(threading.Thread):
    """Drain a pipe, keeping the first and last `keep` bytes and counting the rest."""

    def __init__(self, fd: int, keep: int):
        super().__init__(daemon=True)
        self.fd, self.keep = fd, keep
        self.head, self.tail, self.total = bytearray(), bytearray(), 0

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 1 << 16):
                self.total += len(chunk)
                room = self.keep - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail = (self.tail + chunk)[-self.keep:]
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        if not self.tail:
            return head
        dropped = self.total - len(self.head) - len(self.tail)
        cut = f"\n[... {dropped} bytes of output not shown ...]\n" if dropped > 0 else ""
        return head + cut + self.tail.decode("utf-8", errors="replace")


class WorkerDied(Exception):
    def __init__(self, returncode: int | None, detail: str = ""):
        self.returncode = returncode
        if returncode is None:
            how = "ended"
        elif returncode < 0:
            how = f"was killed by signal {signal.Signals(-returncode).name}"
        else:
            how = f"exited with status {returncode}"
        super().__init__(f"the student's process {how}{detail}")


class ZygoteDied(Exception):
    """The per-student zygote stopped answering (killed, stopped, or failed to start)."""


class Zygote:
    """The trusted side of zygote.py: the sandbox's process group and its control socket."""

    CTL_TIMEOUT = 15.0

    def __init__(self, sandbox, submission: Path):   # sandbox.Sandbox (which imports this module)
        self.sandbox = sandbox
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        out_r, out_w = os.pipe()
        cmd, cwd = sandbox.command(submission, theirs.fileno())
        try:
            self.proc = sandbox.popen(cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                                      pass_fds=[theirs.fileno()], cwd=cwd)
        finally:
            theirs.close()
            os.close(out_w)
        self.log = OutputTail(out_r, 8 << 10)
        self.log.start()
        self.ctl = ours
        self.ctl.settimeout(120.0)      # the first answer waits for numpy (and torch) to import
        try:
            self._recv()
        except ZygoteDied:
            self.close()
            raise
        self.ctl.settimeout(self.CTL_TIMEOUT)

    def alive(self) -> bool:
        return self.proc.poll() is None and self.ctl is not None

    def _recv(self) -> dict:
        try:
            data = self.ctl.recv(4096)
        except OSError as e:
            raise ZygoteDied(f"no answer from the sandbox ({e})") from None
        if not data:
            raise ZygoteDied(f"the sandbox ended: {self.log.text()[-500:]}")
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise ZygoteDied("the sandbox answered with malformed data")
        return reply

    def _ask(self, msg: dict, fds: list[int] = ()) -> dict:
        if self.ctl is None:
            raise ZygoteDied("the sandbox is closed")
        try:
            socket.send_fds(self.ctl, [json.dumps(msg).encode()], list(fds))
        except OSError as e:
            raise ZygoteDied(f"the sandbox is gone ({e})") from None
        return self._recv()

    def spawn(self) -> "ForkedWorker":
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            reply = self._ask({"op": "spawn"}, [req_r, resp_w, out_w])
        except ZygoteDied:
            for fd in (req_r, req_w, resp_r, resp_w, out_r, out_w):
                os.close(fd)
            self.close()
            raise
        finally:
            for fd in (req_r, resp_w, out_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if type(reply.get("pid")) is not int:   # "dirty": it has ended; a new sandbox is needed
            for fd in (req_w, resp_r, out_r):
                os.close(fd)
            self.close()
            raise ZygoteDied(f"the sandbox could not be made fresh: {str(reply.get('dirty', reply))[:200]}")
        return ForkedWorker(self, reply["pid"], req_w, resp_r, out_r)

    def status(self, pid: int, kill: bool, wait: float = 2.0) -> int | None:
        """Exit status of a worker (killing it first if asked); None if unknown."""
        try:
            reply = self._ask({"op": "kill", "pid": pid} if kill else {"op": "wait", "pid": pid, "timeout": wait})
            return reply.get("status")
        except (ZygoteDied, ValueError):
            self.close()       # an unresponsive zygote takes the whole sandbox with it
            return None

    def close(self) -> None:
        """End the sandbox: politely first (closing the control socket ends the zygote, so
        every process is reaped and its CPU time accounted), then by killing bwrap's
        process group; --die-with-parent and the PID namespace take everything inside."""
        if self.ctl is not None and self.proc.poll() is None:
            try:
                cpu = float(self._ask({"op": "exit"}).get("cpu_s", 0.0))
                self.sandbox.cpu_s += cpu if 0 <= cpu < 1e6 else 0.0   # untrusted: benchmarks only
            except (ZygoteDied, ValueError, TypeError, AttributeError):
                pass
            if self.ctl is not None:
                self.ctl.close()
                self.ctl = None
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
        close_process(self.proc)
        if self.ctl is not None:
            self.ctl.close()
            self.ctl = None
        self.log.join(2)


class ForkedWorker:
    """One task's worker: `request()` sends a message and waits for the reply."""

    def __init__(self, zygote: Zygote, pid: int, wfd: int, rfd: int, out_fd: int):
        self.zygote, self.pid, self.wfd, self.rfd = zygote, pid, wfd, rfd
        os.set_blocking(self.wfd, False)
        self.output = OutputTail(out_fd, zygote.sandbox.limits.output_keep)
        self.output.start()
        self.done = False

    def request(self, header: dict, blobs: list[bytes], deadline: float) -> tuple[dict, list[bytes]]:
        """Send and wait; TimeoutError past `deadline`, WorkerDied if the process ends."""
        try:
            wire.send(self.wfd, header, blobs, deadline=deadline)
            return wire.recv(self.rfd, deadline=deadline)
        except (EOFError, BrokenPipeError):
            code = self.zygote.status(self.pid, kill=False)
            if code is None:
                code = self.zygote.status(self.pid, kill=True) if self.zygote.alive() else None
            self.done = True
            self._close_fds()
            raise WorkerDied(code) from None

    def kill(self) -> None:
        if not self.done:
            if self.zygote.alive():
                self.zygote.status(self.pid, kill=True)
            self.done = True
        self._close_fds()
        self.output.join(2)
        if self.output.is_alive():   # something still holds the pipe: end the sandbox
            self.zygote.close()
            self.output.join(2)

    def _close_fds(self) -> None:
        for fd in (self.wfd, self.rfd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.wfd = self.rfd = -1

    def close(self) -> None:
        self.kill()
