import pytest
from hypothesis import settings
from refloop.testing.stream_machine import machine_over
TestPlain = machine_over("plain").TestCase
TestTCP = machine_over("tcp").TestCase
TestTLS = machine_over("tls").TestCase
