#!/usr/bin/env python3
"""What a server process tree has spent, read from /proc, for the bench scripts.

  procstat.py cpu PID   -> CPU clock ticks (utime+stime) of PID and every process
                           below it, dead children included (see cpu_ticks)
  procstat.py rss PID   -> VmRSS of PID in bytes

Ticks are 1/`getconf CLK_TCK` s (100 per second here): a reading has 10 ms
resolution, so a run must spend seconds of CPU for the difference of two
readings to mean anything. Standard library only.
"""
import os
import sys


def _stat(pid):
    """(ppid, utime, stime, cutime, cstime) of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); ppid is field 4, utime..cstime are fields 14..17.
    return int(fields[1]), int(fields[11]), int(fields[12]), int(fields[13]), int(fields[14])


def tree(root):
    """PIDs of root and all its live descendants."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = _stat(int(name))
            if s is not None:
                children.setdefault(s[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_ticks(root):
    """utime+stime+cutime+cstime summed over root and its live descendants.

    /proc/<pid>/stat of a process sums all its threads. A child that has exited
    and was waited for is in its parent's cutime/cstime; a live one (or a zombie)
    is in its own utime/stime: so each process of the tree counts once, whether
    it is still there or not (a PostgreSQL backend, a snapshot child).
    """
    total = 0
    for pid in tree(root):
        s = _stat(pid)
        if s is not None:
            total += s[1] + s[2] + s[3] + s[4]
    return total


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise ValueError(f"no VmRSS for {pid}")


def main(argv):
    if len(argv) == 3 and argv[1] == "cpu":
        print(cpu_ticks(int(argv[2])))
    elif len(argv) == 3 and argv[1] == "rss":
        print(rss_bytes(int(argv[2])))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
