"""Fast unit tests of pytools: a fake runner and a fake tree, no kernel."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytools import bench, build, cli, overlay, settings, testing, toolchain, vm
from pytools.errors import BuildError, GuestError, PytoolsError
from pytools.runner import Completed, FakeRunner, RealRunner


def fake_tree(root: Path, version: tuple[int, int, int] = (7, 3, 4)) -> Path:
    tree = root / "linux"
    (tree / "drivers" / "android").mkdir(parents=True)
    (tree / "Makefile").write_text(
        f"# SPDX\nVERSION = {version[0]}\nPATCHLEVEL = {version[1]}\nSUBLEVEL = {version[2]}\n"
    )
    (tree / "drivers" / "android" / "binder_alloc.c").write_text("/* C allocator */\n")
    (tree / "drivers" / "android" / "Makefile").write_text("obj-y += a.o\n")
    return tree


def make_settings(tmp_path: Path, tree: Path | None = None) -> settings.Settings:
    return settings.Settings(cache=tmp_path / "cache", tree=tree, config="minimal",
                             arch="x86_64")


def test_validate_tree_accepts_a_7_3_tree(tmp_path: Path) -> None:
    tree = overlay.validate_tree(fake_tree(tmp_path))
    assert tree.version == (7, 3, 4)


def test_validate_tree_rejects_a_directory_that_is_not_a_kernel(tmp_path: Path) -> None:
    with pytest.raises(PytoolsError, match="not a kernel tree"):
        overlay.validate_tree(tmp_path)


def test_validate_tree_rejects_an_old_kernel(tmp_path: Path) -> None:
    with pytest.raises(PytoolsError, match="7.3 or newer"):
        overlay.validate_tree(fake_tree(tmp_path, (6, 12, 0)))


def test_unknown_allocator_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["build-rust", "--alloc", "go"], runner=FakeRunner())
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown allocator 'go'" in err and "Traceback" not in err


def test_not_a_kernel_tree_is_a_clear_error(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "ensure_ready", lambda s, r: None)
    rc = cli.main(["build-rust", "--cache", str(tmp_path / "c"), "--tree", str(tmp_path)],
                  runner=FakeRunner())
    assert rc == 2
    assert "not a kernel tree" in capsys.readouterr().err


def test_requested_options_parses_set_and_unset_lines() -> None:
    wanted = build.requested_options(["CONFIG_A=y", "# CONFIG_B is not set", "junk",
                                      'CONFIG_C="binder"'])
    assert wanted == {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": '"binder"'}


def test_missing_options_names_what_did_not_survive() -> None:
    wanted = {"CONFIG_RUST": "y", "CONFIG_KASAN": "y", "CONFIG_X": "n"}
    actual = {"CONFIG_KASAN": "y", "CONFIG_X": "y"}
    assert build.missing_options(wanted, actual) == ["CONFIG_RUST=y (got unset)",
                                                     "CONFIG_X=n (got y)"]


def test_configure_fails_when_an_option_is_dropped(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    work = fake_tree(tmp_path)
    bdir = tmp_path / "build"
    bdir.mkdir()

    class ConfigRunner(FakeRunner):
        def run(self, argv, **kw):  # type: ignore[no-untyped-def]
            # olddefconfig "drops" CONFIG_RUST.
            (bdir / ".config").write_text("CONFIG_ANDROID_BINDER_IPC=y\n")
            return super().run(argv, **kw)

    builder = build.Builder(s, ConfigRunner(), say=lambda m: None)
    with pytest.raises(BuildError, match="CONFIG_RUST=y"):
        builder.configure(work, bdir, build.BuildRequest())
    assert not (bdir / ".pytools-config").exists()


def test_bad_option_syntax_is_rejected() -> None:
    with pytest.raises(PytoolsError, match="bad -K option"):
        build.BuildRequest(options=("CONFIG_FOO",)).validate()


def test_patch_targets_lists_new_and_modified_files(tmp_path: Path) -> None:
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/x/y.c\n+++ b/x/y.c\n@@\n--- /dev/null\n+++ b/z/new.c\n@@\n"
                     "diff --git a/w.c b/w.c\n@@\n")
    assert overlay.patch_targets(patch) == ["x/y.c", "z/new.c", "w.c"]


def test_overlay_is_incremental_and_restores_dropped_files(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tree = fake_tree(tmp_path)
    s = make_settings(tmp_path, tree)
    files: dict[str, Path] = {}
    src = tmp_path / "shim.c"
    src.write_text("int x;\n")
    files["drivers/android/shim.c"] = src
    monkeypatch.setattr(overlay, "project_files", lambda repo=None: dict(files))
    monkeypatch.setattr(overlay, "read_series", lambda series=None: [])
    kt = overlay.validate_tree(tree)
    work = overlay.prepare_work_tree(s, kt, RealRunner(), say=lambda m: None)
    target = work / "drivers/android/shim.c"
    assert target.read_text() == "int x;\n"
    mtime = target.stat().st_mtime_ns
    overlay.prepare_work_tree(s, kt, RealRunner(), say=lambda m: None)
    assert target.stat().st_mtime_ns == mtime, "unchanged content must not be rewritten"
    files.clear()
    overlay.prepare_work_tree(s, kt, RealRunner(), say=lambda m: None)
    assert not target.exists(), "a file the project no longer provides is removed"
    assert not (tree / "drivers/android/shim.c").exists(), "the pristine tree is never written"


def test_overlay_restores_a_dropped_override_as_newer_than_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Objects built from the override are newer than the pristine file: the restored file
    # must be newer still, or make keeps them (seen with a dropped kernel-crate patch).
    tree = fake_tree(tmp_path)
    s = make_settings(tmp_path, tree)
    rel = "drivers/android/Makefile"
    pristine = (tree / rel).read_text()
    override = tmp_path / "Makefile.override"
    override.write_text(pristine + "obj-y += b.o\n")
    files = {rel: override}
    monkeypatch.setattr(overlay, "project_files", lambda repo=None: dict(files))
    monkeypatch.setattr(overlay, "read_series", lambda series=None: [])
    kt = overlay.validate_tree(tree)
    work = overlay.prepare_work_tree(s, kt, RealRunner(), say=lambda m: None)
    target = work / rel
    built_from_override = target.stat().st_mtime_ns
    files.clear()
    overlay.prepare_work_tree(s, kt, RealRunner(), say=lambda m: None)
    assert target.read_text() == pristine
    assert target.stat().st_mtime_ns > built_from_override


def test_overlay_applies_the_series_without_touching_the_pristine_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = fake_tree(tmp_path)
    s = make_settings(tmp_path, tree)
    patch = tmp_path / "0001.patch"
    patch.write_text("--- a/drivers/android/Makefile\n+++ b/drivers/android/Makefile\n"
                     "@@ -1 +1 @@\n-obj-y += a.o\n+obj-y += b.o\n")
    monkeypatch.setattr(overlay, "project_files", lambda repo=None: {})
    monkeypatch.setattr(overlay, "read_series", lambda series=None: [patch])
    work = overlay.prepare_work_tree(s, overlay.validate_tree(tree), RealRunner(),
                                     say=lambda m: None)
    assert (work / "drivers/android/Makefile").read_text() == "obj-y += b.o\n"
    assert (tree / "drivers/android/Makefile").read_text() == "obj-y += a.o\n"


def test_a_patch_that_does_not_apply_is_a_build_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    tree = fake_tree(tmp_path)
    patch = tmp_path / "bad.patch"
    patch.write_text("--- a/drivers/android/Makefile\n+++ b/drivers/android/Makefile\n"
                     "@@ -1 +1 @@\n-something else\n+obj-y += b.o\n")
    monkeypatch.setattr(overlay, "project_files", lambda repo=None: {})
    monkeypatch.setattr(overlay, "read_series", lambda series=None: [patch])
    with pytest.raises(BuildError, match="does not apply"):
        overlay.prepare_work_tree(make_settings(tmp_path, tree),
                                  overlay.validate_tree(tree), RealRunner(), say=lambda m: None)


def test_the_real_series_applies_to_the_file_it_names() -> None:
    for patch in overlay.read_series():
        assert overlay.patch_targets(patch), f"{patch.name} names no file"


def test_vng_argv_uses_tcg_and_wraps_the_command() -> None:
    argv = vm.vng_argv(Path("/b"), "true", accel="tcg", cpus=1, memory="1G",
                       append=["kunit.enable=0"])
    assert argv[:3] == ["vng", "--run", "/b"]
    assert "--disable-kvm" in argv
    assert argv[argv.index("--append") + 1] == "kunit.enable=0"
    assert vm.START in argv[argv.index("--exec") + 1]


def smp_up(cpus: int) -> str:
    """The guest kernel's console line once its CPUs are up."""
    return f"[ 0.5] smp: Brought up 1 node, {cpus} CPU{'s' if cpus > 1 else ''}"


def _image(tmp_path: Path) -> Path:
    image = build.image_path(tmp_path / "b", "c")
    image.parent.mkdir(parents=True)
    image.write_bytes(b"")
    return image


def test_run_guest_returns_the_guest_exit_status(tmp_path: Path) -> None:
    runner = FakeRunner({"vng": (0, ["[ 1.0] booting", smp_up(1), vm.START, "hello",
                                     f"{vm.RC}7"])})
    run = vm.run_guest(make_settings(tmp_path), runner, _image(tmp_path), "x")
    assert run.returncode == 7


def test_run_guest_fails_when_the_guest_has_fewer_cpus(tmp_path: Path) -> None:
    image = _image(tmp_path)
    for console in ([smp_up(1)], []):
        runner = FakeRunner({"vng": (0, [*console, vm.START, f"{vm.RC}0"])})
        with pytest.raises(GuestError, match="2 asked for"):
            vm.run_guest(make_settings(tmp_path), runner, image, "x", cpus=2)
    assert vm.guest_cpus(["[ 0.5] smp: Brought up 1 node, 2 CPUs"]) == 2


def test_run_guest_fails_loudly_when_the_guest_does_not_boot(tmp_path: Path) -> None:
    runner = FakeRunner({"vng": (1, ["qemu: could not load kernel"])})
    with pytest.raises(GuestError, match="did not boot"):
        vm.run_guest(make_settings(tmp_path), runner, _image(tmp_path), "x")


def test_run_guest_without_an_exit_status_is_an_error(tmp_path: Path) -> None:
    runner = FakeRunner({"vng": (0, [vm.START, "[ 2.0] Kernel panic - not syncing"])})
    with pytest.raises(GuestError, match="never reported its exit status"):
        vm.run_guest(make_settings(tmp_path), runner, _image(tmp_path), "x")


def test_run_guest_reports_a_timeout(tmp_path: Path) -> None:
    class Slow(FakeRunner):
        def run(self, argv, **kw):  # type: ignore[no-untyped-def]
            return Completed(list(argv), -9, ["[ 0.1] booting"], timed_out=True)

    with pytest.raises(GuestError, match="timed out after 5 s before the command"):
        vm.run_guest(make_settings(tmp_path), Slow(), _image(tmp_path), "x", timeout=5)


def test_real_runner_kills_a_command_at_its_timeout() -> None:
    done = RealRunner().run(["sleep", "30"], timeout=0.5)
    assert done.timed_out and done.seconds < 5


def test_kernel_reports_are_found() -> None:
    run = vm.GuestRun(0, ["ok", "[ 3.1] BUG: KASAN: use-after-free in x"], 1.0, "tcg")
    assert len(run.kernel_reports()) == 1


def test_probe_accel_uses_tcg_without_vmx(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTOOLS_ACCEL", raising=False)
    monkeypatch.setattr(vm, "_cpu_has_virt", lambda: False)
    accel = vm.probe_accel(make_settings(tmp_path), FakeRunner())
    assert accel.name == "tcg"


def test_cargo_output_is_parsed_per_case() -> None:
    lines = ["     Running unittests src/lib.rs (target/debug/deps/binder_alloc_core-1234)",
             "test range::tests::fits ... ok", "test range::tests::bad ... FAILED",
             "   Doc-tests binder_alloc_core", "test src/lib.rs - x (line 3) ... ignored"]
    assert testing.parse_cargo(lines) == [
        ("binder_alloc_core", "range::tests::fits", "pass"),
        ("binder_alloc_core", "range::tests::bad", "fail"),
        ("doctest:binder_alloc_core", "src/lib.rs - x (line 3)", "skip"),
    ]


KTAP = """[    1.0] KTAP version 1
[    1.0] 1..1
[    1.0]     KTAP version 1
[    1.0]     # Subtest: binder_alloc
[    1.0]     # module: binder_alloc_kunit
[    1.0]     1..3
[    1.1]     ok 1 binder_alloc_test_init_freelist
[    1.2]     ok 2 binder_alloc_test_mmap
[    9.0]     not ok 3 binder_alloc_exhaustive_test
[    9.0] # binder_alloc: pass:2 fail:1 skip:0 total:3
[    9.0] not ok 1 binder_alloc
"""


def _tree_with_parser() -> Path:
    s = settings.load()
    if not (s.pristine_tree / "tools/testing/kunit/kunit_parser.py").exists():
        pytest.skip("needs the kernel tree from `pytools setup` for the KTAP parser")
    return s.pristine_tree


def test_ktap_rows_come_from_the_kernels_parser() -> None:
    from pytools import ktap

    rows = ktap.parse(_tree_with_parser(), KTAP.splitlines())
    assert [(r.suite, r.case, r.status) for r in rows] == [
        ("binder_alloc", "binder_alloc_test_init_freelist", "pass"),
        ("binder_alloc", "binder_alloc_test_mmap", "pass"),
        ("binder_alloc", "binder_alloc_exhaustive_test", "fail"),
    ]


def test_ktap_truncated_suite_is_an_error() -> None:
    from pytools import ktap

    crashed = "\n".join(KTAP.splitlines()[:7])  # the exhaustive case never reports
    rows = ktap.parse(_tree_with_parser(), crashed.splitlines())
    assert any(r.status == "error" for r in rows)


def _fake_builder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tree: Path) -> None:
    """Make TestRun's builder hand back a C kernel image without building."""

    class FakeBuilder:
        def __init__(self, *a, **k) -> None:  # type: ignore[no-untyped-def]
            pass

        def build(self, req):  # type: ignore[no-untyped-def]
            _image(tmp_path)
            config = tmp_path / "b" / ".config"
            if not config.exists():
                config.parent.mkdir(exist_ok=True)
                config.write_text("CONFIG_KUNIT=y\n")
            return build.BuildResult(tmp_path / "b", tree, 1.0, "make", "c")

    monkeypatch.setattr(testing, "Builder", FakeBuilder)


def _boot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, console: list[str],
          req: testing.TestRequest, config: str = "minimal") -> tuple[testing.TestRun, FakeRunner]:
    """One fake C boot of ``config`` whose guest console prints ``console``."""
    _fake_builder(monkeypatch, tmp_path, _tree_with_parser())
    runner = FakeRunner({"vng": (0, [smp_up(req.cpus), vm.START, *console, f"{vm.RC}0"])})
    run = testing.TestRun(make_settings(tmp_path), runner, say=lambda m: None)
    run.report.accel = "tcg"
    run.kernel(req, "c", config)
    return run, runner


def test_missing_kunit_suite_is_an_error_not_a_pass(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run, _ = _boot(monkeypatch, tmp_path, [], testing.TestRequest(tiers=("kunit",)))
    rows = [r for r in run.report.results if r.tier == "kunit"]
    assert rows and rows[0].status == "error" and rows[0].suite == "binder_alloc"
    assert not run.report.ok()


DOCTEST_KTAP = """[    1.0] KTAP version 1
[    1.0] 1..1
[    1.0]     KTAP version 1
[    1.0]     # Subtest: rust_doctests_kernel
[    1.0]     1..2
[    1.1]     ok 1 rust_doctest_kernel_sync_arc_rs_0
[    1.2]     ok 2 rust_doctest_kernel_shrinker_rs_0
[    1.2] # rust_doctests_kernel: pass:2 fail:0 skip:0 total:2
[    1.2] ok 1 rust_doctests_kernel
"""


def test_a_project_doctest_that_did_not_run_is_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testing, "expected_doctests",
                        lambda: {"rust_doctest_kernel_shrinker_rs": 2})
    run, _ = _boot(monkeypatch, tmp_path, DOCTEST_KTAP.splitlines(),
                   testing.TestRequest(tiers=("kunit",), kunit_filter="rust_doctests_kernel"))
    rows = [r for r in run.report.results if r.tier == "kunit"]
    assert [(r.case, r.status) for r in rows if r.status != "pass"] == [
        ("rust_doctest_kernel_shrinker_rs", "error")]
    assert "ran 1 of 2" in next(r.detail for r in rows if r.status == "error")
    assert not run.report.ok()


def test_a_kunit_only_boot_of_a_kmemleak_kernel_ends_with_a_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "b").mkdir(exist_ok=True)
    (tmp_path / "b" / ".config").write_text("CONFIG_DEBUG_KMEMLEAK=y\n")
    run, runner = _boot(monkeypatch, tmp_path, KTAP.splitlines(),
                        testing.TestRequest(tiers=("kunit",), kunit_filter="binder_alloc"),
                        config="debug")
    vng = [argv for argv in runner.calls if argv and argv[0] == "vng"]
    assert vng and any("kmemleak" in arg for arg in vng[0])
    # The guest printed no scan result: that is an error, not a pass.
    rows = [r for r in run.report.results if r.tier == "kmemleak"]
    assert [(r.suite, r.status) for r in rows] == [("kmemleak", "error")]


def test_no_kunit_case_times_out_before_the_guest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # KUnit's own limit (300 s, 900 s for slow cases) would stop the upstream
    # exhaustive case on the debug config under TCG although it is running.
    _, runner = _boot(monkeypatch, tmp_path, KTAP.splitlines(),
                      testing.TestRequest(tiers=("kunit",), boot_timeout=9600))
    vng = [argv for argv in runner.calls if argv and argv[0] == "vng"]
    appended = [vng[0][i + 1] for i, arg in enumerate(vng[0]) if arg == "--append"]
    assert "kunit.timeout=9600" in appended
    assert testing.TestRequest(boot_timeout=60).kunit_timeout() == 300


def test_a_kunit_attribute_filter_reaches_the_kernel_and_the_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_settings(tmp_path)
    tree = _tree_with_parser()

    _fake_builder(monkeypatch, tmp_path, tree)
    monkeypatch.setattr(testing, "probe_accel",
                        lambda s, r: vm.Accel("tcg", "test"))
    runner = FakeRunner({"vng": (0, [smp_up(2), vm.START, f"{vm.RC}0"])})
    run = testing.TestRun(s, runner, say=lambda m: None)
    report = run.run(testing.TestRequest(tiers=("kunit",), allocators=("c",),
                                         kunit_attr="speed>slow"))
    vng = [argv for argv in runner.calls if argv and argv[0] == "vng"]
    assert vng and any("kunit.filter=speed>slow" in arg for arg in vng[0])
    assert report.to_json()["kunit_filters"] == {"kunit.filter": "speed>slow"}
    assert "KUnit filtered: kunit.filter=speed>slow" in testing.summary(report)


def test_the_kmemleak_step_follows_the_built_config(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    result = build.BuildResult(tmp_path / "b", tmp_path, 1.0, "make", "c")
    (tmp_path / "b" / ".config").write_text("CONFIG_DEBUG_KMEMLEAK=y\n")
    assert testing.has_kmemleak(result)
    (tmp_path / "b" / ".config").write_text("# CONFIG_DEBUG_KMEMLEAK is not set\n")
    assert not testing.has_kmemleak(result)


def test_test_takes_config_options_and_reports_them() -> None:
    args = cli.parser().parse_args(["test", "--config", "debug", "-K", "CONFIG_KASAN=n"])
    assert args.options == ["CONFIG_KASAN=n"]
    report = testing.TestReport(options=["CONFIG_KASAN=n"])
    assert report.to_json()["config_options"] == ["CONFIG_KASAN=n"]
    assert "kernels built with: CONFIG_KASAN=n" in testing.summary(report)


def test_a_kunit_filter_narrows_the_expected_suites() -> None:
    every = testing.expected_kunit("rust")
    assert "binder_alloc" in every and "binder_alloc_fault" in every
    assert testing.expected_kunit("rust", "binder_alloc_fault") == ("binder_alloc_fault",)
    assert testing.expected_kunit("rust", "rust_*.some_case") == tuple(
        s for s in every if s.startswith("rust_"))


def test_the_project_doctests_are_counted_per_file(tmp_path: Path) -> None:
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "gup.rs").write_text(
        "//! ```\n//! a\n//! ```\n"
        "/// ```ignore\n/// b\n/// ```\n"
        "    /// ```rust\n    /// c\n    /// ```\n"
        "/// ```text\n/// d\n/// ```\n")
    (tmp_path / "plain.rs").write_text("// ```\nfn f() {}\n")
    expected = testing.expected_doctests(tmp_path)
    assert expected == {"rust_doctest_kernel_mm_gup_rs": 2}
    ran = ["rust_doctest_kernel_mm_gup_rs_0", "rust_doctest_kernel_other_mm_gup_rs_1"]
    assert testing.missing_doctests(ran, expected) == ["rust_doctest_kernel_mm_gup_rs: ran 1 of 2"]
    ran.append("rust_doctest_kernel_mm_gup_rs_1")
    assert testing.missing_doctests(ran, expected) == []


def test_the_repository_abstractions_have_doctests() -> None:
    expected = testing.expected_doctests()
    for stem in ("page_ref_rs", "shrinker_rs", "list_lru_rs", "mm_fault_rs", "mm_gup_rs"):
        assert expected.get(f"rust_doctest_kernel_{stem}", 0) > 0, stem


def test_summary_ends_with_the_count_line() -> None:
    report = testing.TestReport(results=[
        testing.Row("kunit", "binder_alloc", "a", "c", "minimal", "pass"),
        testing.Row("kunit", "binder_alloc", "b", "c", "minimal", "error", "boom"),
    ])
    text = testing.summary(report)
    assert text.splitlines()[-1] == "pytools: 1 passed, 1 failed, 0 skipped"
    assert "ERROR: kunit c-minimal binder_alloc.b: boom" in text


def test_debian_mirror_is_taken_from_the_system_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://mirror.invalid/security\n"
        "Suites: bookworm-security\n")
    assert toolchain.debian_mirror(tmp_path) == "http://mirror.invalid/debian"


def test_settings_reject_unknown_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('cache = "/x"\nbogus = 1\n')
    monkeypatch.setenv("PYTOOLS_CONFIG", str(cfg))
    with pytest.raises(PytoolsError, match="unknown keys"):
        settings.load()


def test_settings_file_supplies_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'cache = "{tmp_path}/cache"\nconfig = "debug"\n')
    monkeypatch.setenv("PYTOOLS_CONFIG", str(cfg))
    monkeypatch.delenv("PYTOOLS_CACHE", raising=False)
    s = settings.load()
    assert s.cache == tmp_path / "cache" and s.config == "debug"
    assert settings.load(config="minimal").config == "minimal"


def test_guest_script_runs_every_program_and_keeps_a_failure() -> None:
    from pytools import guest

    progs = [guest.GuestProgram("e2e", "binder_e2e", ("/g/binder_e2e", "--alloc", "c")),
             guest.GuestProgram("kselftest", "binderfs", ("/k/binderfs_test",))]
    script = guest.guest_script(progs)
    assert "/g/binder_e2e --alloc c > /tmp/pytools-0.out 2>&1 || status=1" in script
    assert script.endswith("exit $status")
    kernel, own = guest.split_output(
        ["[ 1.0] kernel line", "E2E| ok 1 a", "KSELFTEST| ok 1 b", "E2E| ok 2 c"], progs)
    assert kernel == ["[ 1.0] kernel line"]
    assert own == {"e2e": ["ok 1 a", "ok 2 c"], "kselftest": ["ok 1 b"]}


@pytest.mark.parametrize("report, verdict, rc", [
    ("", "ok 1 kmemleak_no_unreferenced_objects", 0),
    ("unreferenced object 0xffff888 (size 64):\n  comm \"x\"\n",
     "not ok 1 kmemleak_no_unreferenced_objects # 1 objects", 1),
])
def test_kmemleak_step_reports_leaks_as_a_failing_case(tmp_path: Path, report: str,
                                                       verdict: str, rc: int) -> None:
    from pytools import guest

    leaks = tmp_path / "kmemleak"
    leaks.write_text(report)
    # A plain file would be overwritten by "echo scan": the kernel's file
    # only takes the command, so the fake skips it.
    script = guest.kmemleak_script(str(leaks), settle=0).replace("echo scan > $f", "true")
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == rc
    assert done.stdout.splitlines()[-1] == verdict


def test_kmemleak_step_fails_without_the_debugfs_file(tmp_path: Path) -> None:
    from pytools import guest

    script = guest.kmemleak_script(str(tmp_path / "absent"), settle=0)
    script = script.replace("mount -t debugfs none /sys/kernel/debug", "true")
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "is missing" in done.stdout


def test_a_case_that_differs_between_allocators_is_named() -> None:
    report = testing.TestReport(results=[
        testing.Row("e2e", "binder_e2e", "x", "c", "minimal", "pass"),
        testing.Row("e2e", "binder_e2e", "x", "rust", "minimal", "fail"),
        testing.Row("e2e", "binder_e2e", "y", "c", "minimal", "pass"),
        testing.Row("e2e", "binder_e2e", "y", "rust", "minimal", "pass"),
    ], divergences=["c-minimal: madvise_dontneed: SIGBUS on C"])
    text = testing.summary(report)
    assert "DIVERGENCE (C and Rust differ): e2e minimal binder_e2e.x: c=pass, rust=fail" in text
    assert "DIVERGENCE (designed, asserted per allocator): c-minimal: madvise_dontneed" in text
    assert "binder_e2e.y" not in text.split("DIVERGENCE")[-1]


def _bench_report() -> bench.BenchReport:

    rep = bench.BenchReport("tcg", "test", bench.BenchRequest(repeats=2), {"rustc": "1.95.0"})
    for variant, tput, rss in (("c", 100.0, 4), ("c", 110.0, 4), ("rust", 120.0, 0),
                               ("rust", 130.0, 0), ("rust-gup", 50.0, 4), ("rust-gup", 70.0, 4)):
        rep.samples.append({"w": "w1", "payload": 4096, "mode": "warm", "tput_per_s": tput,
                            "variant": variant})
        rep.samples.append({"w": "w5", "procs": 100, "rss_kb": rss, "variant": variant})
    return rep


def test_bench_lines_are_parsed_and_ratios_use_medians_of_the_same_run() -> None:
    from pytools import bench

    lines = ["# comment", 'BENCH {"w": "w1", "payload": 0, "tput_per_s": 5.0}', "[ 1.0] x"]
    assert bench.parse_bench(lines) == [{"w": "w1", "payload": 0, "tput_per_s": 5.0}]
    rows = {(r["key"], r["metric"]): r for r in _bench_report().aggregate()}
    tput = rows[("w1 4KiB mode=warm", "tput_per_s")]
    assert tput["rust/c"] == pytest.approx(125.0 / 105.0)
    assert tput["rust-gup/c"] == pytest.approx(60.0 / 105.0)
    assert rows[("w5 procs=100", "rss_kb")]["rust/c"] == 0.0


def test_bench_goals_point_the_right_way() -> None:
    from pytools import bench

    assert bench.goal_verdict("tput_per_s", 1.2) == "met"
    assert bench.goal_verdict("tput_per_s", 0.8) == "missed by 20%"
    assert bench.goal_verdict("p99_us", 0.9) == "met"
    assert bench.goal_verdict("p99_us", 1.5) == "missed by 50%"
    assert bench.goal_verdict("scan_us", 1.5) == "context"


def test_bench_cells_keep_small_rates_readable() -> None:
    from pytools import bench

    assert bench.num(24823.25) == "24823.2"
    assert bench.num(1.0) == "1.0"
    assert bench.num(0.0042) == "0.0042"
    assert bench.num(0.0) == "0.0"


def test_bench_report_states_accelerator_and_command(tmp_path: Path) -> None:
    from pytools import bench

    rep = _bench_report()
    rep.request.command_line = "pytools bench --quick"
    text = bench.markdown(rep)
    assert "**TCG**" in text and "`pytools bench --quick`" in text and "rustc 1.95.0" in text
    assert "| w1 4KiB mode=warm | tput_per_s |" in text


def test_bench_rejects_an_unknown_variant(tmp_path: Path) -> None:
    from pytools import bench

    runner = FakeRunner()
    with pytest.raises(PytoolsError, match="unknown variant"):
        bench.Bench(settings.Settings(cache=tmp_path, tree=None, config="minimal",
                                      arch="x86_64"), runner).run(
            bench.BenchRequest(variants=("c", "go")))


def test_bench_kernels_are_built_for_speed_and_k_replaces_a_default() -> None:
    from pytools import bench

    assert bench.build_options("rust") == ("CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y",
                                           "CONFIG_CC_OPTIMIZE_FOR_SIZE=n")
    assert bench.build_options("c")[-1] == "CONFIG_ANDROID_BINDER_ALLOC_C_FAULT=y"
    opts = bench.build_options("c", ("CC_OPTIMIZE_FOR_SIZE=y",
                                     "CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=n"))
    assert opts == ("CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=n", "CONFIG_CC_OPTIMIZE_FOR_SIZE=y",
                    "CONFIG_ANDROID_BINDER_ALLOC_C_FAULT=y")


def test_bench_boots_c_fault_on_the_c_kernel_with_its_parameter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytools import bench, vm

    built: list[build.BuildRequest] = []
    boots: list[tuple[str, str, list[str]]] = []

    class FakeBuilder:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def build(self, req: build.BuildRequest) -> build.BuildResult:
            built.append(req)
            return build.BuildResult(tmp_path / req.alloc, tmp_path, 1.0, "make", req.alloc)

    def fake_run_guest(s: object, r: object, image: Path, cmd: str, **kw: object) -> vm.GuestRun:
        append = kw["append"]
        assert isinstance(append, list)
        boots.append((str(image), cmd, append))
        return vm.GuestRun(0, ['BENCH {"w": "w1", "payload": 0, "tput_per_s": 5.0}'], 1.0, "tcg")

    monkeypatch.setattr(bench, "Builder", FakeBuilder)
    monkeypatch.setattr(bench, "build_guest_programs", lambda s, r: tmp_path)
    monkeypatch.setattr(bench, "probe_accel", lambda s, r, i: vm.Accel("tcg", "test"))
    monkeypatch.setattr(bench, "run_guest", fake_run_guest)
    monkeypatch.setattr(bench, "host_tsc_khz", lambda: 1000)
    s = settings.Settings(cache=tmp_path, tree=None, config="minimal", arch="x86_64")
    report = bench.Bench(s, FakeRunner(), say=lambda m: None).run(
        bench.BenchRequest(variants=("c", "c-fault", "rust"), repeats=1,
                           options=("CONFIG_FOO=y",)))
    assert sorted(r.alloc for r in built) == ["c", "rust"]
    assert all(r.options[:2] == bench.BUILD_OPTIONS and r.options[-1] == "CONFIG_FOO=y"
               for r in built)
    (c_img, c_cmd, c_app), (f_img, f_cmd, f_app), (r_img, _, r_app) = boots
    assert c_img == f_img != r_img
    assert "binder_linux.alloc_c_fault=1" in f_app
    assert "binder_linux.alloc_c_fault=1" not in c_app + r_app
    assert "alloc_c_fault" in f_cmd and "alloc_c_fault" not in c_cmd
    assert [b["variant"] for b in report.boots] == ["c", "c-fault", "rust"]


def _fake_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, accel: str = "tcg"
                ) -> list[dict[str, object]]:
    """Bench with a fake build and guest; returns each boot's run_guest() keywords."""
    from pytools import bench, vm

    boots: list[dict[str, object]] = []

    class FakeBuilder:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def build(self, req: build.BuildRequest) -> build.BuildResult:
            return build.BuildResult(tmp_path / req.alloc, tmp_path, 1.0, "make", req.alloc)

    def fake_run_guest(s: object, r: object, image: Path, cmd: str, **kw: object) -> vm.GuestRun:
        boots.append(kw)
        return vm.GuestRun(0, ['BENCH {"w": "w1", "payload": 0, "tput_per_s": 5.0}'], 1.0, accel)

    monkeypatch.setattr(bench, "Builder", FakeBuilder)
    monkeypatch.setattr(bench, "build_guest_programs", lambda s, r: tmp_path)
    monkeypatch.setattr(bench, "probe_accel", lambda s, r, i: vm.Accel(accel, "test"))
    monkeypatch.setattr(bench, "run_guest", fake_run_guest)
    monkeypatch.setattr(bench, "host_tsc_khz", lambda: 2445428)
    return boots


def test_bench_icount_boots_one_vcpu_with_a_1_ghz_tsc(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytools import bench

    boots = _fake_bench(tmp_path, monkeypatch)
    s = settings.Settings(cache=tmp_path, tree=None, config="minimal", arch="x86_64")
    report = bench.Bench(s, FakeRunner(), say=lambda m: None).run(
        bench.BenchRequest(variants=("c", "rust"), repeats=1, clock="icount", cpus=1))
    assert [b["qemu_opts"] for b in boots] == [["-icount shift=0,sleep=off"]] * 2
    assert all(b["cpus"] == 1 and "tsc_early_khz=1000000" in b["append"]  # type: ignore
               for b in boots)
    text = bench.markdown(report)
    assert "* Clock: **icount**" in text and "1 vCPU," in text
    boots.clear()
    bench.Bench(s, FakeRunner(), say=lambda m: None).run(
        bench.BenchRequest(variants=("c",), repeats=1))
    append = boots[0]["append"]
    assert boots[0]["qemu_opts"] == [] and isinstance(append, list)
    assert "tsc_early_khz=2445428" in append


def test_bench_icount_refuses_more_vcpus_and_kvm(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytools import bench

    s = settings.Settings(cache=tmp_path, tree=None, config="minimal", arch="x86_64")
    _fake_bench(tmp_path, monkeypatch)
    with pytest.raises(PytoolsError, match="boots one vCPU, 2 asked for"):
        bench.Bench(s, FakeRunner(), say=lambda m: None).run(
            bench.BenchRequest(variants=("c",), repeats=1, clock="icount", cpus=2))
    _fake_bench(tmp_path, monkeypatch, accel="kvm")
    with pytest.raises(PytoolsError, match="needs TCG"):
        bench.Bench(s, FakeRunner(), say=lambda m: None).run(
            bench.BenchRequest(variants=("c",), repeats=1, clock="icount", cpus=1))


def test_vng_argv_passes_qemu_options_as_one_token() -> None:
    argv = vm.vng_argv(Path("/b"), "true", accel="tcg", cpus=1, memory="1G", append=[],
                       qemu_opts=["-icount shift=0,sleep=off"])
    assert "--qemu-opts=-icount shift=0,sleep=off" in argv


def test_host_tsc_khz_needs_a_constant_tsc(tmp_path: Path) -> None:
    from pytools import bench

    info = tmp_path / "cpuinfo"
    info.write_text("flags\t\t: fpu tsc constant_tsc nonstop_tsc\ncpu MHz\t\t: 2249.998\n")
    assert bench.host_tsc_khz(info) == 2249998
    info.write_text("flags\t\t: fpu tsc\ncpu MHz\t\t: 2249.998\n")
    with pytest.raises(PytoolsError, match="not constant"):
        bench.host_tsc_khz(info)
