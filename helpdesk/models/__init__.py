from helpdesk.models.desk import DeskSettings, RankingProfile
from helpdesk.models.inbound import EmailAttachment, InboundEmail
from helpdesk.models.events import Event, Suggestion
from helpdesk.models.imports import ImportFile, ImportFilePart, ImportJob
from helpdesk.models.knowledge import ActiveEncoder, Article, ArticleRevision, Chunk
from helpdesk.models.mail import OutboundEmail
from helpdesk.models.tickets import Message, Ticket
from helpdesk.models.widget import WidgetSession, WidgetSite

__all__ = ["ActiveEncoder", "Article", "ArticleRevision", "DeskSettings", "RankingProfile", "Chunk", "EmailAttachment", "Event", "ImportFile", "ImportFilePart",
           "ImportJob", "InboundEmail", "Message", "OutboundEmail", "Suggestion", "Ticket", "WidgetSession", "WidgetSite"]
