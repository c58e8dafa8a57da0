"""Break the trust boundary on purpose, one mutation at a time, and check a test goes red for each.

    python scripts/mutate_trust.py            # every mutation; prints caught / total
    python scripts/mutate_trust.py -k uid     # only mutations whose name contains "uid"

Each mutation replaces one exact piece of source text (it must exist, or the script says so),
runs the tests named for it, and restores the file whatever happens.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (name, file, original text(s), mutated text(s), tests that must catch it)
MUTATIONS = [
    ("signals: a notebook without bubblewrap may signal any process of its uid", "grader/run/confine.py",
     "                    privilege.signal_only_self(libc)\n", "                    pass\n",
     "tests/test_trust.py::test_without_bubblewrap_a_notebook_may_signal_itself_only tests/test_not_root.py"),
    ("proc: a non-root grader's environment readable by its notebooks", "grader/cli.py",
     "        undumpable()  # notebooks graded", "        pass  # notebooks graded",
     "tests/test_not_root.py::test_a_notebook_cannot_read_the_graders_environment"),
    ("helper: no budget on reference answers", "grader/run/execute.py",
     "        if policy.used >= policy.budget:", "        if False:",
     "tests/test_retry_limits.py"),
    ("restart: a machine that cannot restart a notebook gives it a 0", "grader/run/execute.py",
     "        self._spawn()  # a HarnessFault here is the machine's, and ends the grading of this notebook\n",
     "        try:\n            self._spawn()\n        except HarnessFault:\n            return False\n",
     "tests/test_retry_limits.py"),
    ("pipe: any dtype accepted in a header", "grader/run/wire.py",
     "not isinstance(dtype, str) or not DTYPE.match(dtype):", "not isinstance(dtype, str):",
     "tests/test_wire.py"),
    ("warm: the notebook's environment block is the warm process's", "grader/run/zygote.py",
     "        replace_environ(plan[\"env\"])\n", "        pass\n",
     "tests/test_warm.py::test_a_warm_childs_proc_environ_is_its_own_as_in_a_cold_start"),
    ("folders: /dev/shm and /var/tmp shared between notebooks", "grader/run/sandbox.py",
     "        confine.cover_shared(shared)\n", "        pass\n",
     "tests/test_trust.py::test_no_shared_folder_carries_marks_from_one_notebook_to_the_next"),
    ("helper: answer any name", "grader/execute.py",
     "if policy is None or name not in policy.allowed:", "if False:",
     "tests/test_trust.py::test_a_retry_answers_only_the_declared_broken_helpers_and_flags_the_rest"),
    ("helper: retries interleaved with the first pass", "grader/scoring.py",
     "        self.attempts = [self.first_call(p) for p in probes]\n",
     "        self.attempts = []\n"
     "        for p in probes:\n"
     "            self.attempts.append(self.first_call(p))\n"
     "            self.session.call(p.call, p.payload, self.helper_policy(list(self.spec.function(p.check.function).helpers)))\n",
     "tests/test_trust.py::test_retries_start_only_when_every_first_pass_verdict_is_final"),
    ("reference: no time limit", "grader/refcall.py",
     "header, arrays = channel.receive(time.perf_counter() + seconds)",
     "header, arrays = channel.receive(time.perf_counter() + 3600)",
     "tests/test_trust.py::test_the_reference_answers_student_chosen_inputs_under_time_and_memory_limits"),
    ("reference: no memory limit", "grader/refcall.py",
     "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))", "pass",
     "tests/test_trust.py::test_the_reference_answers_student_chosen_inputs_under_time_and_memory_limits"),
    ("channel: no size limit", "grader/run/wire.py",
     "        if total > limit:", "        if False:",
     "tests/test_trust.py::test_a_result_too_large_for_the_channel_costs_its_check_not_the_grader"),
    ("uid: student code as root under bubblewrap", "grader/sandbox.py",
     'env["GRADER_DROP_TO"] = str(uid)', "pass",
     "tests/test_trust.py::test_student_code_never_runs_as_root_and_sees_neither_project_nor_inputs"),
    ("uid: student code as root without bubblewrap", "grader/run/sandbox.py",
     "                privilege.drop_to(uid)\n", "                privilege.drop_to(None)\n",
     "tests/test_trust.py::test_student_code_never_runs_as_root_and_sees_neither_project_nor_inputs"),
    ("processes: no kill of the uid", "grader/execute.py",
     "confine.kill_uid(self.launch.uid)", "pass",
     "tests/test_trust.py::test_every_process_the_notebook_starts_is_gone_when_grading_ends"),
    ("scratch: no size on the tmpfs", "grader/sandbox.py",
     'args += ["--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", "/tmp"]',
     'args += ["--perms", "1777", "--tmpfs", "/tmp"]',
     "tests/test_trust.py::test_scratch_space_is_size_limited"),
    ("packages: reference visible in site-packages", "grader/sandbox.py",
     'args += ["--tmpfs", str(secret)]', "pass",
     "tests/test_trust.py::test_the_graders_packages_stay_hidden_even_when_installed_beside_numpy"),
    ("inputs: symlinks followed", "grader/load.py",
     "    if not follow_symlinks:\n", "    if False:\n",
     "tests/test_trust.py::test_a_symlinked_submission_is_unusable_input_and_never_read"),
    ("leftovers: never cleaned", "grader/sandbox.py",
     "        shutil.rmtree(entry, ignore_errors=True)\n        removed.append(entry)", "        pass",
     "tests/test_trust.py::test_folders_left_by_a_killed_run_are_removed_by_the_next"),
    ("handshake: a start failure blamed on the student", "grader/execute.py",
     'raise HarnessFault(f"the sandbox could not start Python: {why}") from None',
     'raise WorkerDied(f"the notebook\'s process exited: {why}") from None',
     "tests/test_machine.py::test_a_harness_fault_is_not_a_grade_and_a_rerun_grades_everyone"),
    ("batch: harness faults recorded as grades", "grader/batch.py",
     'if status != "ok":', "if False:",
     "tests/test_machine.py::test_a_harness_fault_is_not_a_grade_and_a_rerun_grades_everyone"),
    ("auto: grade falls back silently", "grader/cli.py",
     "if why_not and refuse_fallback:", "if False:",
     "tests/test_machine.py::test_grade_refuses_to_run_other_peoples_code_without_bubblewrap"),
    ("bwrap: /tmp mounted after the interpreter", "grader/sandbox.py",
     ['    args += ["--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", "/tmp"]\n',
      '    args += ["--dev", "/dev", "--proc", "/proc",'],
     ["", '    args += ["--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", "/tmp"]\n'
          '    args += ["--dev", "/dev", "--proc", "/proc",'],
     "tests/test_machine.py::test_a_venv_in_the_temp_folder_grades_under_bubblewrap"),
    ("regrade: options ignored", "grader/gradebook.py",
     'return f"options changed ({\', \'.join(changed)})" if changed else None', "return None",
     "tests/test_machine.py::test_changing_an_option_that_can_change_a_score_regrades_and_says_why"),
    # issue 21: one privilege drop, every step checked, staged beside the sandboxed scripts
    ("privilege: a failed prctl ignored", "grader/run/privilege.py",
     "        if err not in allowed:", "        if False:",
     "tests/test_trust.py::test_every_step_of_the_privilege_drop_is_checked"),
    ("privilege: root kept as saved uid", "grader/run/privilege.py",
     "        os.setresuid(uid, uid, uid)", "        os.setresuid(uid, uid, 0)",
     "tests/test_trust.py::test_the_privilege_drop_leaves_no_capability_no_root_and_no_new_privs"),
    ("privilege: not staged beside the warm process", "grader/run/sandbox.py",
     '    "privilege.py",\n)', ')',
     "tests/test_execute.py::test_every_sibling_module_the_sandboxed_scripts_import_is_staged_beside_them"),
    ("wire: the shared value format not staged beside the worker", "grader/run/sandbox.py",
     '    "wire.py",\n', '',
     "tests/test_execute.py::test_every_sibling_module_the_sandboxed_scripts_import_is_staged_beside_them"),
    ("reference: readable by a cold notebook of a root grader (project and packages not covered)", "grader/run/sandbox.py",
     ["        covers = {p for p in self.hidden if p.is_dir()}",
      '        for secret in _secret_dirs():  # after the rebinds: inside site-packages too\n            if secret.is_dir():'],
     ["        covers = set()",
      '        for secret in _secret_dirs():  # after the rebinds: inside site-packages too\n            if False:'],
     "tests/test_execute.py::test_the_reference_source_is_unreadable_in_every_isolation"),
    # issue 20.6: a process left behind by a killed batch is seen (the test watches the real process tree)
    ("leftovers: a warm process outlives a killed batch", "grader/run/zygote.py",
     '    sock.send(json.dumps({"ready": os.getpid()}).encode())\n    serve(sock)',
     '    sock.send(json.dumps({"ready": os.getpid()}).encode())\n'
     '    if os.fork() == 0:\n        os.setsid()\n        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])\n'
     '        __import__("time").sleep(30)\n        os._exit(0)\n    serve(sock)',
     "tests/test_hostile.py::test_a_batch_killed_half_way_ends_with_every_submission_graded_exactly_once"),
]


def locate(hint: str, olds: list[str]) -> Path | None:
    """The file named, or (after a split moved the code) the one file under grader/ that holds every text."""
    path = ROOT / hint
    if path.exists() and all(path.read_text().count(o) == 1 for o in olds):
        return path
    found = [p for p in sorted((ROOT / "grader").rglob("*.py")) if all(p.read_text().count(o) == 1 for o in olds)]
    return found[0] if len(found) == 1 else None


def run(name: str, file: str, old: str | list[str], new: str | list[str], tests: str) -> str:
    olds, news = ([old], [new]) if isinstance(old, str) else (old, new)
    path = locate(file, olds)
    if path is None:
        return f"SKIP  {name}: the original text is not in {file} (nor in one other module) exactly once (update this script)"
    original = path.read_text()
    mutated = original
    for before, after in zip(olds, news):
        if mutated.count(before) != 1:
            return f"SKIP  {name}: the original text is not in {file} exactly once (update this script)"
        mutated = mutated.replace(before, after)
    path.write_text(mutated)
    try:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests.split()],
                              cwd=ROOT, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})  # this checkout, not an installed copy
        seconds = time.perf_counter() - started
    finally:
        path.write_text(original)
    verdict = "caught" if proc.returncode == 1 else ("NOT CAUGHT" if proc.returncode == 0 else f"error ({proc.returncode})")
    return f"{verdict:<10} {name} ({seconds:.0f} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", default="", help="only mutations whose name contains this")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if args.k in m[0]]
    lines = [run(*m) for m in chosen]
    for line in lines:
        print(line)
    caught = sum(line.startswith("caught") for line in lines)
    print(f"{caught} / {len(chosen)} mutations of the trust boundary caught")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
