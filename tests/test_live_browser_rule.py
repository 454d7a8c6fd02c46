"""The Live page's alert rule in a real browser at 1024x700 beside the sidebar: every field shows its whole value
(the cooldown read "120.0(": its value cut by the +/- buttons) and every label fits on one line, so the four
fields stand level."""

from __future__ import annotations

import pytest
from browser import chromium, screenshot, streamlit_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Each number field of the rule: its value's text width against the box that shows it.
VALUES = """() => [...document.querySelectorAll('[data-testid=stExpander] [data-testid=stNumberInput] input')]
  .map(i => {
  const s = getComputedStyle(i);
  const c = document.createElement('canvas').getContext('2d');
  c.font = s.font;
  const pad = parseFloat(s.paddingLeft) + parseFloat(s.paddingRight);
  return [i.value, Math.ceil(c.measureText(i.value).width + pad), i.clientWidth];
})"""
# Each label of the rule: its text and how many lines it takes.
LABELS = """() => [...document.querySelectorAll('[data-testid=stExpander] [data-testid=stWidgetLabel] p')].map(p => {
  const lh = parseFloat(getComputedStyle(p).lineHeight);
  return [p.innerText, Math.round(p.getBoundingClientRect().height / lh)];
})"""


def test_alert_rule_fields_fit_at_1024(vigil_env, tmp_path):
    with streamlit_app(vigil_env, tmp_path / "streamlit.log") as url, chromium(viewport=(1024, 700)) as page:
        page.goto(f"{url}/live")
        page.get_by_text("Alert rule").click()
        page.wait_for_selector("[data-testid=stExpander] [data-testid=stNumberInput] input", timeout=60_000)
        page.wait_for_timeout(1000)
        values, labels = page.evaluate(VALUES), page.evaluate(LABELS)
        screenshot(page, "live-rule-1024x700.png")
    assert [v for v, _, _ in values] == ["3.0", "120", "10"], values  # the defaults, as they read
    assert all(need <= has for _, need, has in values), values  # the whole value in view
    assert len(labels) == 4 and all(lines == 1 for _, lines in labels), labels
