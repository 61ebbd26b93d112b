"""104 install: README.md and docs/OPERATIONS.md's installation, settings
and start-up parts, as municipal IT operations read them: every program's
--help, what it promises about its output and exit status."""

import os
import subprocess

import pytest

import hubtest

PROGRAMS = ["hubd", "hubctl", "inbox", "webd", "adapter-addiction",
            "adapter-college", "adapter-jobcenter", "adapter-school",
            "adapter-youthunit"]


def program_path(name):
    if name == "ug-loadgen":
        path = hubtest.BUILD / "bench" / "ug-loadgen"
        if not path.exists():
            pytest.skip(f"{path} not built")
        return str(path)
    return hubtest.binary(name)


@pytest.mark.parametrize("name", PROGRAMS + ["ug-loadgen"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_into_a_pipe_whose_reader_has_gone_is_no_error(name, flag):
    """OPERATIONS.md, "Build and install": --help (-h the same, in every
    program, ug-loadgen too) "while a reader that stops early, `| head`,
    is no error". The reader here is gone before the program writes a
    byte, so the first write meets a broken pipe every time (with SIGPIPE
    at its default, as a shell leaves it): exit 0, nothing on stderr, not
    a death by SIGPIPE (141 in the shell)."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([program_path(name), flag], stdout=w,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=30)
    finally:
        os.close(w)
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert p.stderr == b""


def run_into_a_gone_reader(args, stream="stdout"):
    """Run args with stdout (or stderr) a pipe whose reader has gone; the
    other stream is captured."""
    r, w = os.pipe()
    os.close(r)
    other = "stderr" if stream == "stdout" else "stdout"
    try:
        return subprocess.run(args, stdin=subprocess.DEVNULL, timeout=30,
                              **{stream: w, other: subprocess.PIPE})
    finally:
        os.close(w)


def test_check_config_into_a_gone_reader_is_exit_1_saying_so(tmp_path):
    """OPERATIONS.md, "Checking the configuration": exit 1 when `hubd:
    configuration OK` could not be written, so that `hubd --check-config
    ... && systemctl reload hubd` never goes on without the answer shown;
    a pipe whose reader has gone is such a case, named on stderr, not a
    death by SIGPIPE. Its problems on a stderr whose reader has gone do
    not change exit 2."""
    conf = tmp_path / "hubd.conf"
    conf.write_text(f"data_dir = {tmp_path / 'data'}\n"
                    f"keys_dir = {tmp_path / 'keys'}\n")
    hubd = hubtest.binary("hubd")
    p = run_into_a_gone_reader([hubd, "--check-config", "--config",
                                str(conf)])
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert p.stderr == b"hubd: cannot write standard output: Broken pipe\n"
    p = run_into_a_gone_reader([hubd, "--check-config", "--config",
                                str(conf), "--batch_max", "0"], "stderr")
    assert p.returncode == 2, p.returncode
    assert p.stdout == b""
    assert not (tmp_path / "data").exists()


def test_a_signing_key_the_service_user_cannot_read_does_not_stop_hubd(
        make_hub):
    """OPERATIONS.md, "As a Debian service": a key hubd cannot read stops
    the start, exit 1, but the audit signing pair is the exception: with
    hub.sign_secret root's (a copy put back by root), hubd, running as the
    service user, serves with its checkpoints unsigned and says so once,
    after HUB-READY (err `HUB-AUDIT no audit signing key (keys_dir:
    cannot open DIR/hub.sign_secret: Permission denied); the trail is
    chained but its checkpoints are not signed`); chowned too, the next
    start says nothing of it."""
    import signal

    hub = make_hub(start=False)
    with hubtest.service_user_copy(hub, "ug-sign-") as copy:
        keys, data, svc = copy.keys, copy.data, copy.svc
        for d in (keys, data):
            for f in [d, *d.rglob("*")]:
                os.chown(f, svc.pw_uid, svc.pw_gid)
        secret = keys / "hub.sign_secret"
        os.chown(secret, 0, 0)

        def run(log):
            with open(log, "wb") as out:
                p = subprocess.Popen([hubtest.binary("hubd"), "--config",
                                      str(copy.conf)], stdout=out,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=copy.preexec)
                try:
                    # The pair is loaded on the first loop turn, or at
                    # a stop that comes before it: either way once.
                    hubtest.wait_for(
                        lambda: p.poll() is not None or
                        "HUB-READY" in log.read_text(), 15, "HUB-READY")
                finally:
                    p.send_signal(signal.SIGTERM)
                    rc = p.wait(timeout=30)
            return rc, log.read_text()

        rc, text = run(copy.top / "first.log")
        assert rc == 0, text
        ready = text.index("HUB-READY")
        said = (f" err HUB-AUDIT no audit signing key (keys_dir: cannot "
                f"open {secret}: Permission denied); the trail is chained "
                f"but its checkpoints are not signed\n")
        assert said in text and text.index(said) > ready, text
        assert "HUB-START cannot start" not in text
        os.chown(secret, svc.pw_uid, svc.pw_gid)
        rc, text = run(copy.top / "second.log")
        assert rc == 0, text
        assert "HUB-AUDIT no audit signing key" not in text, text
