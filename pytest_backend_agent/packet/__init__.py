"""The architecture packet: its model and loading it with friendly errors."""

from __future__ import annotations

from pytest_backend_agent.packet.load import load_packet, load_project_config
from pytest_backend_agent.packet.model import DataModel, Endpoint, Field, Packet

__all__ = ["DataModel", "Endpoint", "Field", "Packet", "load_packet", "load_project_config"]
