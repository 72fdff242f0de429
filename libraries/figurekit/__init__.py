"""What the measuring libraries share: figures read out of result dictionaries, assertion
operators given as text, and the SVG line chart of their logs (LoadGenerator,
ResourceMonitor, PrometheusLibrary import it; none imports another)."""
