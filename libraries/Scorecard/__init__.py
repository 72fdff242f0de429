"""Scorecard: record measured figures beside their targets for results/summary.{json,md}."""

from __future__ import annotations

from datetime import timedelta

from assertionengine import AssertionOperator
from robot.api import logger
from robot.api.deco import keyword, library

from .figures import Figure, Unchecked, format_target

__version__ = "0.1.0"


@library(scope="GLOBAL", version=__version__)
class Scorecard:
    """Records every measured figure of a run with its target.

    Figures are written into the log (and so into output.xml); after the run
    ``python -m Scorecard results/output.xml`` turns them into ``summary.json`` and
    ``summary.md``, each figure with its scenario, target and verdict.
    """

    @keyword(tags=["Action"])
    def record_figure(self, scenario: str, name: str, value: float,
                      assertion_operator: AssertionOperator | None = None,
                      assertion_expected: float | None = None, unit: str = "",
                      note: str = "") -> None:
        """Records a measured figure; informational only, it never fails the test.

        With ``assertion_operator`` and ``assertion_expected`` (``<``, ``<=``, ``>``,
        ``>=``, ``==``, ``!=`` and a number) the summary shows the figure's verdict against
        that target; `Figure Should Meet Target` fails the test on it instead.

        Example:
        | Record Figure    2.1    ping round trip p50    ${p50}    unit=ms
        | Record Figure    2.2    metrics send to ack    ${ms}    <    500    unit=ms
        """
        target = format_target(assertion_operator, assertion_expected)
        figure = Figure(scenario, name, float(value), unit, target, note)
        logger.info(figure.to_html(), html=True)

    @keyword(tags=["Assertion"])
    def figure_should_meet_target(self, scenario: str, name: str, value: float,
                                  assertion_operator: AssertionOperator,
                                  assertion_expected: float, unit: str = "",
                                  note: str = "") -> None:
        """Records a measured figure and fails unless ``value`` ``assertion_operator``
        ``assertion_expected`` holds (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``).

        Example:
        | Figure Should Meet Target    1.1    connect latency (pulse)    ${ms}    <    500
        | ...    unit=ms
        """
        target = format_target(assertion_operator, assertion_expected)
        figure = Figure(scenario, name, float(value), unit, target, note)
        logger.info(figure.to_html(), html=True)
        if figure.verdict != "pass":
            raise AssertionError(f"{figure.describe()}")

    @keyword(tags=["Getter"])
    def percent_of(self, part: float, whole: float) -> float:
        """Returns ``part`` as a percentage of ``whole``: what share of a whole a figure
        reports (records stored of those sent, inputs handled of those tried).

        ``whole`` must be positive: a share of nothing is not a figure.

        Example:
        | ${stored}=    Percent Of    ${rows}    ${sent}
        | Figure Should Meet Target    2.3    records stored    ${stored}    >=    100    unit=%
        """
        if whole <= 0:
            raise ValueError(f"Percent Of needs a positive whole, got {whole}")
        return part * 100 / whole

    @keyword(tags=["Getter"])
    def mean_interval(self, duration: timedelta, count: int) -> float:
        """Returns the mean time in milliseconds between ``count`` events spread over
        ``duration`` (a Robot Framework time such as ``10 s`` or ``1234.5 ms``).

        ``count`` must be positive: no events, no interval.

        Example:
        | ${mean}=    Mean Interval    10 s    ${updates}
        | Figure Should Meet Target    3.2    mean update interval    ${mean}    <=    1000
        | ...    unit=ms
        """
        if count <= 0:
            raise ValueError(f"Mean Interval needs at least one event, got {count}")
        return duration.total_seconds() * 1000 / count

    @keyword(tags=["Setter"])
    def record_not_checked(self, scenario: str, what: str, reason: str) -> None:
        """Records that a check could not be made against this target, and why: it is
        listed under "Not checked" in the summary and logged as a warning. It never fails
        the test.

        Example:
        | Record Not Checked    8.3    recovery action stored
        | ...    the variables give no RECOVERY_ACTION_STORED_QUERY
        """
        unchecked = Unchecked(scenario, what, reason)
        logger.info(unchecked.to_html(), html=True)
        logger.warn(unchecked.describe())
