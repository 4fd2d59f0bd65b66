"""gRPC endpoints of the internal ConversationService: verify the caller context,
call the domain core, shape the response."""

from __future__ import annotations

from conversation.erase import erase_visitor
from conversation.export import customer_view, visitor_files
from conversation.search import search
from conversation.service import ConversationCore
from frontdesk.caller import Caller, CallerCodec
from frontdesk.clock import ms_of_input
from frontdesk.errors import InvalidArgument, rpc
from frontdesk_pb.admin.v1 import admin_pb2
from frontdesk_pb.chat.v1 import chat_pb2
from frontdesk_pb.common.v1 import common_pb2 as common
from frontdesk_pb.conversation.v1 import conversation_pb2, conversation_pb2_grpc

Status = common.ConversationStatus


class ConversationServicer(conversation_pb2_grpc.ConversationServiceServicer):
    def __init__(self, core: ConversationCore, codec: CallerCodec):
        self.core = core
        self.codec = codec

    async def _caller(self, context) -> Caller:
        return await self.codec.require(context)

    async def _operator(self, context) -> Caller:
        return await self.codec.require_operator(context, "this needs an operator or an API key")

    # -- customer side -------------------------------------------------------------

    @rpc
    async def StartConversation(self, request, context):
        caller = await self._caller(context)
        conv = await self.core.start(caller, request.channel, dict(request.attributes))
        return chat_pb2.StartConversationResponse(conversation=customer_view(conv))

    @rpc
    async def SendMessage(self, request, context):
        caller = await self._caller(context)
        msg, queued = await self.core.send_customer_message(
            caller,
            request.conversation_id,
            request.text,
            request.client_message_id,
            attachment_ids=list(request.attachment_ids),
        )
        return chat_pb2.SendMessageResponse(message=msg, queued_for_ai=queued)

    @rpc
    async def UploadAttachment(self, request, context):
        caller = await self._caller(context)
        return await self.core.upload_attachment(
            caller, request.conversation_id, request.filename, request.content_type, request.data
        )

    @rpc
    async def GetAttachment(self, request, context):
        caller = await self._caller(context)
        meta, data, url = await self.core.read_attachment(caller, request.conversation_id, request.attachment_id)
        return chat_pb2.GetAttachmentResponse(attachment=meta, data=data, download_url=url)

    @rpc
    async def ListMessages(self, request, context):
        caller = await self._caller(context)
        msgs, token = await self.core.list_messages(
            caller, request.conversation_id, request.page_size, request.page_token
        )
        return chat_pb2.ListMessagesResponse(messages=msgs, next_page_token=token)

    @rpc
    async def ListConversations(self, request, context):
        caller = await self._caller(context)
        convs, token = await self.core.list_conversations(caller, request.page_size, request.page_token)
        return chat_pb2.ListConversationsResponse(
            conversations=[customer_view(c) for c in convs], next_page_token=token
        )

    @rpc
    async def GetConversation(self, request, context):
        return customer_view(await self.core.get(await self._caller(context), request.conversation_id))

    @rpc
    async def SubmitFeedback(self, request, context):
        caller = await self._caller(context)
        await self.core.submit_feedback(
            caller, request.conversation_id, request.message_id, request.helpful, request.comment
        )
        return chat_pb2.SubmitFeedbackResponse()

    @rpc
    async def RateConversation(self, request, context):
        caller = await self._caller(context)
        await self.core.rate(caller, request.conversation_id, request.score, request.comment)
        return chat_pb2.RateConversationResponse()

    @rpc
    async def RequestHuman(self, request, context):
        conv = await self.core.request_human(await self._caller(context), request.conversation_id, request.reason)
        return customer_view(conv)

    # -- operator side -------------------------------------------------------------

    @rpc
    async def AdminListConversations(self, request, context):
        caller = await self._operator(context)
        convs, token = await self.core.list_conversations(
            caller,
            request.page_size,
            request.page_token,
            status=request.status,
            visitor_id=request.visitor_id,
            assignee=request.assignee,
            label=request.label,
        )
        return admin_pb2.ListConversationsResponse(conversations=convs, next_page_token=token)

    @rpc
    async def AdminGetConversation(self, request, context):
        return await self.core.get(await self._operator(context), request.conversation_id)

    @rpc
    async def AdminListMessages(self, request, context):
        caller = await self._operator(context)
        msgs, token = await self.core.list_messages(
            caller, request.conversation_id, request.page_size, request.page_token
        )
        # the team's notes come with the first page (the operator's view); never on the chat side
        notes = [] if request.page_token else await self.core.notes(caller, request.conversation_id)
        return admin_pb2.ListMessagesResponse(messages=msgs, next_page_token=token, notes=notes)

    @rpc
    async def AddNote(self, request, context):
        return await self.core.add_note(await self._operator(context), request.conversation_id, request.text)

    @rpc
    async def ExportVisitor(self, request, context):
        caller = await self.codec.require_operator(
            context, "a customer's data is exported by the tenant's owners and admins", roles=("owner", "admin")
        )
        blobs = self.core.attachments.blobs if self.core.attachments is not None else None
        async for part in visitor_files(
            self.core.store, self.core.attachments, blobs, caller.tenant_id, request.visitor_id
        ):
            yield part

    @rpc
    async def EraseVisitor(self, request, context):
        caller = await self.codec.require_operator(
            context, "a customer's data is erased by the tenant's owners and admins", roles=("owner", "admin")
        )
        blobs = self.core.attachments.blobs if self.core.attachments is not None else None
        return await erase_visitor(
            self.core.store,
            blobs,
            self.core.pub.js,
            caller.tenant_id,
            request.visitor_id,
            only_describe=request.only_describe,
        )

    @rpc
    async def SearchConversations(self, request, context):
        return await search(self.core.store, await self._operator(context), request)

    @rpc
    async def AssignConversation(self, request, context):
        return await self.core.assign(
            await self._operator(context), request.conversation_id, request.operator_id, request.display_name
        )

    @rpc
    async def SetConversationLabels(self, request, context):
        return await self.core.set_labels(await self._operator(context), request.conversation_id, list(request.labels))

    @rpc
    async def SetConversationStatus(self, request, context):
        try:
            until = ms_of_input(request.snooze_until, "snooze_until") if request.HasField("snooze_until") else 0
        except ValueError as err:
            raise InvalidArgument(str(err)) from None
        return await self.core.set_conversation_status(
            await self._operator(context), request.conversation_id, request.status, until
        )

    @rpc
    async def SetPresence(self, request, context):
        return await self.core.set_presence(await self._operator(context), request.state, request.capacity)

    @rpc
    async def TakeOver(self, request, context):
        return await self.core.take_over(await self._operator(context), request.conversation_id)

    @rpc
    async def SendAgentMessage(self, request, context):
        caller = await self._operator(context)
        return await self.core.send_agent_message(
            caller, request.conversation_id, request.text, request.client_message_id
        )

    @rpc
    async def ReleaseConversation(self, request, context):
        caller = await self._operator(context)
        return await self.core.set_status(caller, request.conversation_id, Status.CONVERSATION_STATUS_AI)

    @rpc
    async def CloseConversation(self, request, context):
        caller = await self._operator(context)
        return await self.core.set_status(caller, request.conversation_id, Status.CONVERSATION_STATUS_CLOSED)

    @rpc
    async def OpenStream(self, request, context):
        caller = await self._caller(context)
        conv, missed = await self.core.open_stream(caller, request.conversation_id, request.after_message_id)
        return conversation_pb2.OpenStreamResponse(conversation=conv, missed=missed)

    @rpc
    async def PostVoiceMessage(self, request, context):
        caller = await self._caller(context)
        msg, queued = await self.core.send_customer_message(
            caller,
            request.conversation_id,
            request.text,
            request.client_message_id,
            voice=True,
            audio_id=request.audio_id,
            language=request.language,
        )
        return chat_pb2.SendMessageResponse(message=msg, queued_for_ai=queued)
