import pytest

from helpdesk.models import Article
from helpdesk.services.knowledge import save_article

pytestmark = pytest.mark.django_db


def test_a_published_article_is_public_with_links_to_its_translations(client):
    en = save_article(title="Track your order", body="Open Orders.\n\n<script>alert(1)</script>", locale="en",
                      status=Article.Status.PUBLISHED)
    save_article(title="تتبع طلبك", body="افتح الطلبات.", locale="ar", status=Article.Status.PUBLISHED,
                 translation_group=en.translation_group)
    page = client.get(f"/help/articles/{en.pk}/").content.decode()
    assert "Track your order" in page and "تتبع طلبك (ar)" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    arabic = Article.objects.get(locale="ar")
    assert 'dir="rtl"' in client.get(f"/help/articles/{arabic.pk}/").content.decode()


def test_a_draft_is_not_found_publicly(client):
    draft = save_article(title="Unreleased plan", body="Secret.", locale="en")
    assert client.get(f"/help/articles/{draft.pk}/").status_code == 404
