"""ORM models, one module per entity. Importing this package registers every table on
`Base.metadata` (what Alembic compares against)."""

from storage.models.answer import Answer
from storage.models.audit_entry import AuditEntry
from storage.models.base import Base
from storage.models.call_outcome import CallOutcome
from storage.models.campaign import Campaign
from storage.models.campaign_member import CampaignMember
from storage.models.channel_identity import ChannelIdentity
from storage.models.detection_rule import DetectionRule
from storage.models.due_job import DueJob
from storage.models.flow import Flow
from storage.models.flow_version import FlowVersion, ImmutableFlowVersion
from storage.models.inbound_message import InboundMessage
from storage.models.organisation import Organisation
from storage.models.outbox_message import OutboxMessage
from storage.models.respondent import Respondent
from storage.models.staff_notice import StaffNotice
from storage.models.staff_session import StaffSession
from storage.models.staff_user import StaffUser
from storage.models.staged_upload import StagedUpload
from storage.models.survey_session import SurveySession
from storage.models.ticket import Ticket
from storage.models.ticket_event import TicketEvent
from storage.models.ticket_queue import TicketQueue
from storage.models.wechat_account import WeChatAccount
from storage.models.wechat_scene import WeChatScene

__all__ = [
    "Answer",
    "AuditEntry",
    "Base",
    "CallOutcome",
    "Campaign",
    "CampaignMember",
    "ChannelIdentity",
    "DetectionRule",
    "DueJob",
    "Flow",
    "FlowVersion",
    "ImmutableFlowVersion",
    "InboundMessage",
    "Organisation",
    "OutboxMessage",
    "Respondent",
    "StaffNotice",
    "StaffSession",
    "StaffUser",
    "StagedUpload",
    "SurveySession",
    "Ticket",
    "TicketEvent",
    "TicketQueue",
    "WeChatAccount",
    "WeChatScene",
]
