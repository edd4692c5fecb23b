"""The global search (issue 15 part 12): the page ``/search/?q=…`` behind the header's box, and ``GET
/api/search/?q=…`` for API clients. Both read ``loancenter.search.search``, which keeps the reader's scope in SQL."""

from __future__ import annotations

from django.shortcuts import render
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.serializers import LoanSummarySerializer
from loancenter import search as S
from loancenter.apis import HasPost


def search_page(request):
    results = S.search(request.user, request.GET.get("q"))
    return render(request, "loancenter/search.html", {
        "results": results, "q": results.query.text, "min_digits": S.MIN_DIGITS, "min_name": S.MIN_NAME,
        "limit": S.LOAN_LIMIT,
    })


class SearchCustomer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    # Always masked here: a search answer is a pointer; the full numbers are read (and the reading recorded) on the
    # customer's own resource by the posts that need them (SPEC §4).
    id_number = serializers.CharField(source="masked_id_number")
    phone = serializers.CharField(source="masked_phone")


class SearchView(APIView):
    """``GET /api/search/?q=…``: the loans (newest first, at most 20) and customers the query finds in the caller's
    scope; ``more_loans`` when more loans matched, ``too_broad`` when the query matched too many customers."""

    permission_classes = [HasPost]

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="application or contract number, part of a name, or the "
                                                           "last digits (at least 4) of an ID or phone number")],
        responses=inline_serializer("SearchResults", {
            "q": serializers.CharField(), "loans": LoanSummarySerializer(many=True),
            "customers": SearchCustomer(many=True), "more_loans": serializers.BooleanField(),
            "too_broad": serializers.BooleanField(),
        }),
    )
    def get(self, request):
        results = S.search(request.user, request.query_params.get("q"))
        return Response({
            "q": results.query.text,
            "loans": LoanSummarySerializer(results.loans, many=True).data,
            "customers": SearchCustomer(results.customers, many=True).data,
            "more_loans": results.more_loans,
            "too_broad": results.too_broad,
        })
