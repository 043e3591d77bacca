"""The summary by region and the levels chain on the intake page (AppTest, a real photo)."""

from __future__ import annotations

import pytest

from posture.app.widgets import plain
from posture.metrics.chain import levels_chain
from tests.test_app import new_app, pair, upload


@pytest.fixture(scope="module")
def ana_page():
    at = new_app()
    return upload(at, *pair("ana"))


def test_the_summary_by_region_comes_before_the_tables(ana_page):
    at = ana_page
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert "Summary by region" in headers
    text = "\n".join(m.value for m in at.markdown)
    for title in ("Head and neck", "Shoulders", "Trunk and spine", "Pelvis", "Legs"):
        assert f"**{title}:**" in text
    assert any("In plain words" in e.label for e in at.expander)


def test_the_levels_chain_shows_every_level_and_what_it_reads(ana_page):
    at = ana_page
    from posture.app import intake

    result = at.session_state[intake.ANALYSIS].result
    chain = levels_chain(result.front.metrics)
    table = at.table[-1].value
    assert list(table["Level"]) == [lv.level for lv in chain.levels]
    text = "\n".join(m.value for m in at.markdown)
    assert chain.observations
    for observation in chain.observations:
        assert f"- {plain(observation)}" in text
