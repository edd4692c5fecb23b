"""The transition API: ``POST /api/loans/{id}/transitions/{name}/`` for every name in
``loancenter.transitions.REGISTRY`` (SPEC §2), one subclass per name so that the OpenAPI schema shows each input.

Wiring, with the registry: the same ``transitions.perform`` call the browser page makes
(``loancenter.transition_views``).
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from applications.apis import REFUSALS, loan_response
from applications.selectors import access_loan
from applications.serializers import LoanSerializer
from loancenter import transitions
from loancenter.apis import ErrorSerializer, HasPost


class TransitionView(APIView):
    """Run one transition of SPEC §2 through ``transitions.perform`` (the same call the browser form makes)."""

    permission_classes = [HasPost]
    transition: str | None = None  # set on the per-name subclasses; the generic route reads it from the URL

    @extend_schema(exclude=True)
    def post(self, request, pk: int, name: str | None = None):
        name = self.transition or name
        if name not in transitions.REGISTRY:
            raise Http404
        loan = access_loan(request.user, pk, action=name)
        transitions.perform(name, loan_id=loan.pk, actor=request.user, data=request.data)
        return loan_response(request, loan.pk)


def transition_view(name: str) -> type[TransitionView]:
    """A subclass per transition, so that the OpenAPI schema shows each one with its own input."""
    entry = transitions.REGISTRY[name]

    @extend_schema(
        operation_id=f"loans_transition_{name}",
        summary=f"Transition: {name}",
        description=(
            f"POST /api/loans/{{id}}/transitions/{name}/ runs the `{name}` transition of SPEC §2 for the caller. "
            "Answers the loan as GET /api/loans/{id}/ shows it. Refusals: 400 field errors or a business rule "
            "(`code`, `detail`, `field`); 403 `post_required`, `not_owner`, `separation_of_duty`, `authority_limit`; "
            "404 outside your data scope; 409 `invalid_state` when the loan's state does not allow it. "
            "A refusal changes nothing."
        ),
        tags=["transitions"],
        request=entry.input,
        responses={
            200: LoanSerializer,
            **REFUSALS,
            409: OpenApiResponse(ErrorSerializer, description="invalid_state: not possible from the loan's state"),
        },
    )
    def post(self, request, pk: int):
        return TransitionView.post(self, request, pk, name)

    return type(f"{name.title().replace('_', '')}TransitionView", (TransitionView,), {"transition": name, "post": post})
