"""The agents' ticket queue."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from helpdesk.models import Ticket


@login_required
@permission_required("helpdesk.view_ticket", raise_exception=True)
def queue(request):
    tickets = Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES).order_by("-created_at")[:50]
    return render(request, "helpdesk/queue.html", {"tickets": tickets})
