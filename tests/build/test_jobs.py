"""Job keys: the same key exactly when a file is made from the same things, which is what lets a rebuild skip it."""

from publisher.build.jobs import Job, job_key


def render() -> bytes:
    return b"page"


def test_a_job_keeps_its_key_while_its_inputs_stay_and_loses_it_when_any_changes():
    job = Job("posts/a/index.html", ("post-a", None, "post-b"), render)
    key = job_key("site", job)
    assert job_key("site", Job(job.path, job.depends, lambda: b"other code, same inputs")) == key
    changed = [job_key("site, new templates", job), job_key("site", Job("posts/b/index.html", job.depends, render)),
               job_key("site", Job(job.path, ("post-a, edited", None, "post-b"), render))]
    assert key not in changed and len(set(changed)) == 3
