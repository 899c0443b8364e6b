"""skdlib.progress: in a kernel, a finished bar's saved text is its final state, not "0%"."""

import nbformat
from nbclient import NotebookClient
from tqdm.std import tqdm as std_tqdm

import skdlib.progress


def test_outside_a_kernel_it_is_the_terminal_bar():
    assert issubclass(skdlib.progress.tqdm, std_tqdm)
    assert skdlib.progress.tqdm.__module__ in {"tqdm.std", "tqdm.asyncio", "tqdm.auto"}


def run(code: str) -> list[str]:
    """Execute ``code`` in a fresh kernel; the text/plain of every output it displayed."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    return [o["data"]["text/plain"] for o in nb.cells[0].outputs if "data" in o]


def test_saved_text_is_where_each_bar_ended():
    texts = run(
        "from skdlib.progress import tqdm\n"
        "for _ in tqdm(range(16), desc='done'):\n    pass\n"
        "for _ in tqdm(range(5), desc='inner', leave=False):\n    pass\n"
        "bar = tqdm(total=10, desc='stopped')\nbar.update(3)\nbar.close()\n"
        "for _ in tqdm(range(4), desc='quiet', disable=True):\n    pass\n"
    )
    assert len(texts) == 3, texts  # the disabled bar shows nothing
    done, inner, stopped = texts
    assert done.startswith("done: 100%") and "16/16" in done and "0/16" not in done
    assert inner == ""  # a finished leave=False bar vanishes, in the saved copy too
    assert stopped.startswith("stopped:  30%") and "3/10" in stopped


def test_a_bar_left_unfinished_stays_even_with_leave_false():
    (text,) = run(
        "from skdlib.progress import tqdm\n"
        "bar = tqdm(total=8, desc='inner', leave=False)\nbar.update(5)\nbar.close()\n"
    )
    assert text.startswith("inner:  62%") and "5/8" in text


def test_a_delayed_bar_is_tqdms_own():
    texts = run(
        "from skdlib.progress import tqdm\n"
        "for _ in tqdm(range(3), desc='late', delay=60):\n    pass\n"
    )
    assert texts == []  # finished before its delay: never shown, as with tqdm.auto
