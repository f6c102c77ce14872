import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils.translation import gettext_lazy as _
from pgvector.django import VectorField


class Article(models.Model):
    """One knowledge-base article in one locale; translations share a `translation_group`."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("body"), blank=True)
    locale = models.CharField(_("locale"), max_length=35, help_text=_("BCP 47 tag"))
    translation_group = models.UUIDField(default=uuid.uuid4, db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    category = models.CharField(_("category"), max_length=100, blank=True)
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # How its passages were split (embeddings.chunking.chunking_signature); another value than the
    # current settings' means the sweep splits it again.
    chunked_with = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["translation_group", "locale"], name="helpdesk_article_one_per_locale"),
        ]
        indexes = [models.Index(fields=["status", "locale"])]

    def __str__(self):
        return f"{self.title} [{self.locale}]"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class Chunk(models.Model):
    """A passage of an article, with its vector.

    `embedding` is an unsized `vector` so models of any size can be stored; the HNSW index is a
    partial expression index over `embedding::vector(N)` for the configured N (see migrations and
    `helpdesk.vectors`). `encoder` names the model that produced the vector; empty means not yet.
    `embedding` holds the vector queries are answered from (the active encoder's).
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    text = models.TextField(help_text=_("Title and passage, as embedded"))
    passage = models.TextField(blank=True, help_text=_("The passage alone, shown as a snippet"))
    content_hash = models.CharField(max_length=64)
    language = models.CharField(max_length=35, blank=True)
    search_vector = SearchVectorField(null=True)
    embedding = VectorField(null=True, blank=True)
    encoder = models.CharField(max_length=255, blank=True, db_index=True)
    # While the install switches encoder: the new encoder's vector, built beside the one that still
    # answers queries (see ActiveEncoder); empty otherwise.
    next_embedding = VectorField(null=True, blank=True)
    next_encoder = models.CharField(max_length=255, blank=True, db_index=True)
    embedded_at = models.DateTimeField(null=True, blank=True)
    embed_attempts = models.PositiveSmallIntegerField(default=0)
    embed_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["article_id", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["article", "ordinal"], name="helpdesk_chunk_ordinal")]
        # Lexical retrieval matches passages with `search_vector @@ tsquery` (helpdesk.lexical).
        indexes = [GinIndex(fields=["search_vector"], name="helpdesk_chunk_search_gin")]

    def __str__(self):
        return f"{self.article_id}#{self.ordinal}"


class ArticleRevision(models.Model):
    """An edit to a published article by someone who may not publish: it waits for review.

    Customers keep seeing the article's current text (help page, widget, suggestions) until someone
    with the publish permission publishes the revision; only then are the passages re-embedded.
    An article has at most one pending revision, shared by everyone editing it (as a help center's
    "draft of a published article").
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        PUBLISHED = "published", _("Published")
        DISCARDED = "discarded", _("Discarded")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("body"), blank=True)
    locale = models.CharField(_("locale"), max_length=35)
    category = models.CharField(_("category"), max_length=100, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["article"], condition=models.Q(state="pending"),
                                    name="helpdesk_revision_one_pending"),
        ]

    def __str__(self):
        return f"{self.title} [{self.locale}] ({self.state})"


class ActiveEncoder(models.Model):
    """The encoder whose vectors answer queries (one row; none yet: the configured encoder).

    It changes only when the configured encoder's vectors are complete
    (`services.encoders.complete_encoder_switch`), so switching model never leaves queries without
    vectors. `spec` and `dimensions` are what HELPDESK["ENCODER"] and ["EMBEDDING_DIMENSIONS"] were.
    """

    SINGLETON = 1

    spec = models.CharField(max_length=500)
    dimensions = models.PositiveIntegerField(null=True, blank=True)
    name = models.CharField(max_length=255, help_text=_("The encoder name its vectors carry"))
    activated_at = models.DateTimeField()

    def __str__(self):
        return self.name
