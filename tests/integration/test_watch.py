"""The watch stream (imctl watch and the raw control protocol), IM-SHOW in JSON,
and a subscribe list changed by reload without a new login."""
import json
import queue
import subprocess
import threading

from harness import DOMAIN, IMCTL, control_watch, peer_conf, wait_for


class Watcher:
    """`imctl watch` with its lines collected as they come."""

    def __init__(self, d):
        self.proc = subprocess.Popen([IMCTL, "-s", d.socket, "watch"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait(self, pred, timeout=10):
        """The first line (from now on) for which pred(kind, obj) holds."""
        def check():
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                return None
            kind, _, rest = line.partition(" ")
            obj = json.loads(rest) if rest else None
            self.seen.append((kind, obj))
            return (kind, obj) if pred(kind, obj) else None
        return wait_for(check, timeout, interval=0, what="a watch line")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def test_watch_snapshot_then_changes(prosody, robot, buddies, daemon):
    b = buddies("buckaroo")
    b.presence(show="away", status="at lunch")
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]))
    d.wait_status("aim1/buckaroo", status="away")
    w = Watcher(d)
    try:
        w.wait(lambda k, o: k == "synced")
        kinds = [k for k, _ in w.seen]
        assert kinds[0] == "peer" and kinds[-1] == "synced"
        peer = w.seen[0][1]
        assert (peer["name"], peer["status"], peer["port"]) == ("aim1", "Registered", prosody.port)
        snap = next(o for k, o in w.seen if k == "buddy")
        assert (snap["name"], snap["status"], snap["show"], snap["text"]) == \
            ("buckaroo", "away", "away", "at lunch")
        assert "old" not in snap

        b.presence(show="dnd", status='on the phone\n"quoted"')
        _, change = w.wait(lambda k, o: k == "buddy" and o["status"] == "busy")
        assert change["show"] == "dnd"
        assert change["text"] == 'on the phone "quoted"'
        assert change["old"]["status"] == "away" and change["old"]["text"] == "at lunch"

        # A peer change reaches watchers too.
        prosody.stop()
        w.wait(lambda k, o: k == "peer" and o["status"] == "Connecting")
        _, gone = w.wait(lambda k, o: k == "buddy" and o["status"] == "unknown")
        assert gone["result"] == "NOTCONNECTED"
    finally:
        w.stop()
    # The other clients are unaffected by a watcher going away.
    assert d.peer("aim1")["name"] == "aim1"


def test_watch_raw_protocol_frames(prosody, robot, daemon):
    """Notifications never land inside a reply block, and commands still work."""
    d = daemon(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"]))
    d.wait_peer("aim1", "Registered")
    c, f, lines = control_watch(d)
    with c:
        assert all(l.startswith((b"%peer ", b"%buddy ", b"%synced")) for l in lines)
        f.write(b"show peers\n")
        f.flush()
        block = []
        while True:
            l = f.readline()
            if block or l.startswith(b"%begin "):
                block.append(l)
            if l.startswith(b"%end "):
                break
        assert block[0] == b"%begin 1\n" and b"aim1" in block[2]
        assert not any(l.startswith((b"%peer", b"%buddy")) for l in block)


def test_reload_subscribe_without_relogin(prosody, robot, buddies, daemon):
    prosody.register("turtlehead", "turtle-pw")
    b = buddies("buckaroo")
    t = buddies("turtlehead", password="turtle-pw", register=False)
    conf = peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["buckaroo"])
    d = daemon(conf)
    d.wait_status("aim1/buckaroo", subscription="both")
    b.presence(status="here")
    d.wait_status("aim1/buckaroo", status="online")

    d.write_conf(peer_conf("aim1", robot[0], robot[1], prosody,
                           subscribe=["buckaroo", "turtlehead"]))
    assert d.imctl("reload").stdout.strip() == "reloaded"
    t.presence(status="shell")
    s = d.wait_status("aim1/turtlehead", status="online", timeout=15)
    assert s["subscription"] == "both"
    assert d.status("aim1/buckaroo")["status"] == "online", "buckaroo must stay known"

    d.write_conf(peer_conf("aim1", robot[0], robot[1], prosody, subscribe=["turtlehead"]))
    d.imctl("reload")
    names = [x["name"] for x in d.json("show", "subscribed", "aim1")]
    assert names == ["turtlehead"]
    assert d.status("aim1/buckaroo")["result"] == "NOTSUBSCRIBED"
    log = d.read_log()
    assert log.count("aim1: logged in as") == 1, "a subscribe change must not log in again"
    assert "updated live" in log
    assert f"no longer watching buckaroo@{DOMAIN}" in log
