from helpdesk.models.desk import DeskSettings
from helpdesk.models.events import Event, Suggestion
from helpdesk.models.imports import ImportFile, ImportJob
from helpdesk.models.knowledge import ActiveEncoder, Article, Chunk
from helpdesk.models.mail import OutboundEmail
from helpdesk.models.tickets import Message, Ticket
from helpdesk.models.widget import WidgetSession, WidgetSite

__all__ = ["ActiveEncoder", "Article", "DeskSettings", "Chunk", "Event", "ImportFile", "ImportJob", "Message", "OutboundEmail",
           "Suggestion", "Ticket", "WidgetSession", "WidgetSite"]
