"""A tenant's model request allowance (AiSettings.requests_per_minute) through the
gateway: validated, stored, returned."""

from __future__ import annotations

import grpc
import pytest

from frontdesk_pb.admin.v1 import admin_pb2
from tests.e2e.helpers import Client


async def test_requests_per_minute_is_validated_and_kept(mesh):
    async with mesh.channel() as ch:
        c = Client(ch)
        op = await c.operator("demo", mesh.demo["owner_email"], mesh.demo["owner_password"])
        before = await c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=op, timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            bad = admin_pb2.AiSettings()
            bad.CopyFrom(before)
            bad.requests_per_minute = -5
            await c.admin.UpdateAiSettings(admin_pb2.UpdateAiSettingsRequest(settings=bad), metadata=op, timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "requests_per_minute" in err.value.details()
        assert (await c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=op, timeout=10)) == before

        good = admin_pb2.AiSettings()
        good.CopyFrom(before)
        good.requests_per_minute = 120
        saved = await c.admin.UpdateAiSettings(
            admin_pb2.UpdateAiSettingsRequest(settings=good), metadata=op, timeout=10
        )
        assert saved.requests_per_minute == 120
        again = await c.admin.GetAiSettings(admin_pb2.GetAiSettingsRequest(), metadata=op, timeout=10)
        assert again.requests_per_minute == 120
        # put the demo tenant back as it was for the other tests
        await c.admin.UpdateAiSettings(admin_pb2.UpdateAiSettingsRequest(settings=before), metadata=op, timeout=10)
