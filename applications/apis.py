"""REST API for customers, products and loans (SPEC §8–9).

Thin views: ``access_*`` for scope (404 outside it), a serializer to parse input, the service to act,
a serializer to answer. Business refusals come from the services as ``DomainError`` and are mapped to
``{"code", "detail"}`` once, in ``loancenter.apis.exception_handler``.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from applications import listing, services
from applications.models import Customer, Guarantor, Investigation, Loan, Product
from applications.selectors import (
    access_customer,
    access_loan,
    can_see_full_pii,
    customers_visible_to,
    loans_visible_to,
)
from applications.serializers import (
    AuditEntrySerializer,
    CustomerSerializer,
    LoanInput,
    LoanSerializer,
    LoanSummarySerializer,
    ProductSerializer,
)
from loancenter.apis import ErrorSerializer, HasPost
from loancenter.lib import versioning
from loancenter.models import PiiView
from loancenter.refusals import check_caller

REFUSALS = {
    400: OpenApiResponse(description="Field errors, or a business rule with its code"),
    403: OpenApiResponse(ErrorSerializer, description="post_required, not_owner, separation_of_duty, authority_limit"),
    404: OpenApiResponse(description="Outside your data scope, or no such object"),
}
STALE = OpenApiResponse(ErrorSerializer, description=(
    "stale_edit: the record changed since the version sent (If-Match or `version`); nothing was changed (rule 22)"))


def with_etag(response: Response, version: int) -> Response:
    """GET and PATCH answer the record's version as its ETag, for If-Match on the next PATCH (rule 22)."""
    response["ETag"] = versioning.etag(version)
    return response


def loan_detail_queryset(qs):
    """Everything the loan page reads, fetched up front (rows of guarantors, collaterals, documents, rounds)."""
    return qs.select_related("customer", "product", "marketing_officer", "reviewer", "approver").prefetch_related(
        Prefetch("guarantors", queryset=Guarantor.objects.select_related("customer")),
        "collaterals",
        "documents",
        Prefetch("investigations", queryset=Investigation.objects.prefetch_related("investigators")),
    )


def loan_response(request, loan_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    """The loan as ``GET /api/loans/{id}/`` shows it (callers have already passed ``access_loan``)."""
    loan = loan_detail_queryset(Loan.objects.all()).get(pk=loan_id)
    return with_etag(Response(LoanSerializer(loan, context={"request": request}).data, status=status_code), loan.version)


# ---------------------------------------------------------------------------------------------------------------
# Customers


@extend_schema_view(
    list=extend_schema(summary="Customers you may see (ID and phone always masked)"),
    retrieve=extend_schema(summary="One customer (full ID and phone for posts that need them; the view is recorded)",
                           responses={200: CustomerSerializer, 404: REFUSALS[404]}),
    create=extend_schema(summary="Register a customer (marketing)", responses={201: CustomerSerializer, **REFUSALS}),
    partial_update=extend_schema(
        summary="Edit a customer (registering officer) or set on_warning_list (reviewer, manager)",
        description="Send `version` or `If-Match` (the ETag of GET) to have a stale edit refused (409 stale_edit).",
        responses={200: CustomerSerializer, **REFUSALS, 409: STALE},
    ),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = CustomerSerializer
    permission_classes = [HasPost]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Customer.objects.none()
        return customers_visible_to(self.request.user).select_related("officer").order_by("-id")

    def get_object(self):
        return access_customer(self.request.user, self.kwargs["pk"])

    def _answer(self, customer, *, status_code=status.HTTP_200_OK) -> Response:
        """Full ID and phone only for the posts that need them, and each such view recorded (SPEC §4)."""
        full = can_see_full_pii(self.request.user)
        if full:
            PiiView.objects.create(viewer=self.request.user, customer=customer, surface="api")
        data = CustomerSerializer(customer, context={"request": self.request, "full_pii": full}).data
        return with_etag(Response(data, status=status_code), customer.version)

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    def create(self, request, *args, **kwargs):
        check_caller(services.customer_create, request.user)  # the post before the input (SPEC §16.2)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k not in ("reason", "on_warning_list")}
        customer = services.customer_create(actor=request.user, data=data)
        return self._answer(customer, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        customer = self.get_object()
        check_caller(services.customer_update, request.user)
        serializer = self.get_serializer(customer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        customer = services.customer_update(actor=request.user, customer_id=customer.pk,
                                            data=dict(serializer.validated_data),
                                            version=versioning.expected_version(request, request.data))
        customer.refresh_from_db()
        return self._answer(customer)

    def update(self, request, *args, **kwargs):  # PUT is not offered; PATCH only
        raise Http404


# ---------------------------------------------------------------------------------------------------------------
# Products


@extend_schema_view(
    list=extend_schema(summary="Loan products"),
    retrieve=extend_schema(summary="One product"),
    create=extend_schema(summary="Create a product (general, manager)", responses={201: ProductSerializer, **REFUSALS}),
    partial_update=extend_schema(summary="Change a product (general, manager)",
                                 description="Send `version` or `If-Match` (the ETag of GET) to have a stale edit "
                                             "refused (409 stale_edit).",
                                 responses={200: ProductSerializer, **REFUSALS, 409: STALE}),
)
class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = ProductSerializer
    permission_classes = [HasPost]
    queryset = Product.objects.order_by("code").prefetch_related("rate_grid")
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        check_caller(services.product_save, request.user)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_save(actor=request.user, data=dict(serializer.validated_data))
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        product = self.get_object()
        check_caller(services.product_save, request.user)
        serializer = self.get_serializer(product, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product = services.product_save(actor=request.user, data=dict(serializer.validated_data), product_id=product.pk,
                                        version=versioning.expected_version(request, request.data))
        return with_etag(Response(ProductSerializer(product).data), product.version)

    def retrieve(self, request, *args, **kwargs):
        product = self.get_object()
        return with_etag(Response(ProductSerializer(product).data), product.version)

    def update(self, request, *args, **kwargs):
        raise Http404


# ---------------------------------------------------------------------------------------------------------------
# Loans


@extend_schema_view(
    list=extend_schema(summary="Loans in your data scope", responses={200: LoanSummarySerializer(many=True)}),
    retrieve=extend_schema(summary="One loan with its servicing figures and the transitions you may attempt",
                           responses={200: LoanSerializer, 404: REFUSALS[404]}),
    create=extend_schema(summary="Enter an application (marketing; you become its marketing officer)",
                         request=LoanInput, responses={201: LoanSerializer, **REFUSALS}),
    partial_update=extend_schema(summary="Correct a draft application (its marketing officer)", request=LoanInput,
                                 description="Send `version` or `If-Match` (the ETag of GET) to have a stale edit "
                                             "refused (409 stale_edit); rows named by `id` are updated in place.",
                                 responses={200: LoanSerializer, **REFUSALS, 409: OpenApiResponse(
                                     ErrorSerializer, description="invalid_state (not a draft) or stale_edit")}),
)
class LoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    permission_classes = [HasPost]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Loan.objects.none()
        loans = loans_visible_to(self.request.user).select_related("customer", "product", "marketing_officer")
        if self.action != "list":
            return loans
        # The loan list's filters and sorts (issue 15 part 12: applications.listing), by the same names and codes as
        # the page's address; one that cannot be applied is a 400, never dropped.
        form = listing.LoanListForm(self.request.query_params, user=self.request.user, default_sort="newest")
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        return form.apply(loans)

    def get_serializer_class(self):
        if self.action == "list":
            return LoanSummarySerializer
        if self.action in ("create", "partial_update"):
            return LoanInput
        return LoanSerializer

    def get_object(self):
        return access_loan(self.request.user, self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        return loan_response(request, self.get_object().pk)

    def create(self, request, *args, **kwargs):
        check_caller(services.loan_create, request.user)
        serializer = LoanInput(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        loan = services.loan_create(actor=request.user, data=serializer.application())
        return loan_response(request, loan.pk, status_code=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        loan = self.get_object()
        check_caller(services.loan_update_draft, request.user, loan_id=loan.pk)
        serializer = LoanInput(data=request.data, partial=True, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.loan_update_draft(actor=request.user, loan_id=loan.pk, data=serializer.application(base=loan),
                                   version=versioning.expected_version(request, request.data))
        return loan_response(request, loan.pk)

    def update(self, request, *args, **kwargs):
        raise Http404

    @extend_schema(summary="The loan's audit trail, oldest first", responses={200: AuditEntrySerializer(many=True),
                                                                             404: REFUSALS[404]})
    @action(detail=True, methods=["get"], pagination_class=None)
    def audit(self, request, pk=None):
        loan = self.get_object()
        entries = loan.audit_entries.select_related("actor").order_by("at", "id")
        return Response(AuditEntrySerializer(entries, many=True).data)
