# Sourced by scripts/acceptance and the sharded run's scripts: the tag statistics a
# stakeholder filters by, the same in a single run's report and a combined one. The scenario
# document's sections, the alert priorities and the long tests; the rule: ids (one per
# contract rule) are too many to list there, the log and docs/coverage.md find tests by them.
# shellcheck shell=bash disable=SC2034
report_tags=(
    --tagstatinclude 'section:*' --tagstatinclude 'priority:*' --tagstatinclude long
    --tagdoc 'section:*:A section of the scenario document (shared/scenarios.md)'
    --tagdoc 'priority:*:Tests of alerts of this priority'
    --tagdoc 'long:Tests that take a minute or more'
)
