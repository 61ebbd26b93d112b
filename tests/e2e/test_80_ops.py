"""80 operations: hubd --check-config (exit 0, or 2 with FILE:LINE: reason
for each bad line of the config and of the rules file, without creating
the store), hubctl backup / restore under load, and make install /
uninstall into a DESTDIR. docs/OPERATIONS.md."""

import subprocess

import hubtest


def check_config(*args):
    return subprocess.run([hubtest.binary("hubd"), "--check-config", *args],
                          capture_output=True, text=True, timeout=30)


def write_config(tmp, config_lines, rules_lines):
    rules = tmp / "rules.conf"
    rules.write_text("".join(line + "\n" for line in rules_lines))
    conf = tmp / "hubd.conf"
    conf.write_text("".join(line + "\n" for line in [
        f"data_dir = {tmp / 'data'}",
        f"keys_dir = {tmp / 'keys'}",
        f"rules = {rules}",
        *config_lines]))
    return conf, rules


def test_check_config_accepts_a_good_config(tmp_path):
    conf, _ = write_config(tmp_path, ["batch_max = 100", "log_level = warn"],
                           ["# a comment", "dropout.priority = urgent",
                            "absence.rolling.threshold_pct = 15"])
    p = check_config("--config", str(conf))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert not (tmp_path / "data").exists()


def test_check_config_names_every_bad_line_and_opens_no_store(tmp_path):
    conf, rules = write_config(
        tmp_path,
        ["batch_max = 0",             # line 4: out of range
         "log_level = loud",          # line 5
         "no_such_setting = 1",       # line 6
         "query_rate = 10"],          # line 7: fine
        ["dropout.priority = high",   # line 1: fine
         "dropout.priority = panic",  # line 2
         "absence.rolling.threshold_pct = many",  # line 3
         "nonsense.rule = yes"])      # line 4
    p = check_config("--config", str(conf))
    assert p.returncode == 2, p.stdout + p.stderr
    err = p.stderr
    for line in (4, 5, 6):
        assert f"{conf}:{line}: " in err, err
    assert f"{conf}:7:" not in err
    for line in (2, 3, 4):
        assert f"{rules}:{line}: " in err, err
    assert f"{rules}:1:" not in err
    assert "batch_max" in err and "no_such_setting" in err
    # Nothing opened: the store directory was never made.
    assert not (tmp_path / "data").exists()


def test_check_config_reports_a_missing_rules_file(tmp_path):
    conf, rules = write_config(tmp_path, [], [])
    rules.unlink()
    p = check_config("--config", str(conf))
    assert p.returncode == 2
    assert str(rules) in p.stderr
    # A command-line option is checked too.
    conf2, _ = write_config(tmp_path, [], [])
    p = check_config("--config", str(conf2), "--sessions_max", "-3")
    assert p.returncode == 2
    assert "sessions_max" in p.stderr
    assert not (tmp_path / "data").exists()
