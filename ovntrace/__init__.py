"""ovntrace: make Open vSwitch / OVN packet traces readable."""

__version__ = "0.1.0"
