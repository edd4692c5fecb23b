"""REST API of the archive (mounted at /api/archive/): folders, checklist ticks and lending-out.

Thin views: scope from ``archive.selectors``, the service acts, ``loancenter.apis.exception_handler`` maps
a refusal to ``{"code", "detail"}`` with its status (403 ``separation_of_duty`` when a requester approves).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.selectors import access_loan
from archive import selectors, services
from archive.models import ChecklistItem, Copy, Folder, Lending
from loancenter.apis import HasPost
from loancenter.lib import versioning
from loancenter.refusals import check_caller


class ItemSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)
    received_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    retention_until = serializers.DateField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = ChecklistItem
        fields = ["id", "section", "code", "label", "reference", "original_required", "vault", "state", "copy_kind",
                  "pages", "received_on", "received_by", "location", "destroyed_on", "retention_until"]


class FolderSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    keeper = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Folder
        fields = ["id", "folder_no", "customer", "customer_name", "keeper", "shelf", "opened_at"]


def _folder_detail(folder: Folder, user) -> dict:
    body = FolderSerializer(folder).data
    body["loans"] = [
        {
            "loan": view.loan.pk, "application_no": view.loan.application_no, "status": view.loan.status,
            "completed_at": view.loan_file.completed_at, "received": view.received, "total": view.total,
            "items": ItemSerializer([i for _v, _l, rows in view.sections for i in rows], many=True).data,
        }
        for view in selectors.folder_loans(folder, user)
    ]
    return body


class FolderList(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Archive folders you may see; ?q= customer name, ID number, contract or folder number",
                   responses=FolderSerializer(many=True))
    def get(self, request):
        folders = selectors.folder_search(request.user, request.query_params.get("q", ""))[:200]
        return Response(FolderSerializer(folders, many=True).data)


class FolderDetail(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="One folder with each loan's checklist", responses=FolderSerializer)
    def get(self, request, pk: int):
        return Response(_folder_detail(selectors.access_folder(request.user, pk), request.user))


class ItemPatch(serializers.Serializer):
    received = serializers.BooleanField(default=True)
    copy_kind = serializers.ChoiceField(choices=Copy.choices, required=False)
    pages = serializers.IntegerField(min_value=1, max_value=9999, required=False)
    received_on = serializers.DateField(required=False)
    location = serializers.CharField(max_length=60, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ItemDetail(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Tick a checklist item (archivist): original or copy, pages, received on, vault location;"
                           " received=false with a reason withdraws a tick", request=ItemPatch, responses=ItemSerializer)
    def patch(self, request, pk: int):
        item = selectors.access_item(request.user, pk)
        check_caller(services.item_receive, request.user, loan_id=item.loan_file.loan_id)
        data = ItemPatch(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        if d["received"]:
            item = services.item_receive(item_id=item.pk, actor=request.user, copy_kind=d.get("copy_kind", ""),
                                         pages=d.get("pages"), received_on=d.get("received_on"),
                                         location=d.get("location", ""))
        else:
            item = services.item_unreceive(item_id=item.pk, actor=request.user, reason=d.get("reason", ""))
        return Response(ItemSerializer(item).data)

    @extend_schema(summary="One checklist item", responses=ItemSerializer)
    def get(self, request, pk: int):
        return Response(ItemSerializer(selectors.access_item(request.user, pk)).data)


class LendingSerializer(serializers.ModelSerializer):
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    out_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    returned_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    item_label = serializers.CharField(source="item.label", read_only=True)

    class Meta:
        model = Lending
        fields = ["id", "lending_no", "item", "item_label", "loan", "status", "requester", "purpose", "due_on",
                  "requested_at", "decided_by", "decided_at", "decision_note", "out_at", "out_by", "returned_at",
                  "returned_by", "return_note", "version"]
        read_only_fields = [f for f in fields if f not in ("item", "purpose", "due_on")]


class LendingInput(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    purpose = serializers.CharField(max_length=200)
    due_on = serializers.DateField()


class LendingList(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Lendings (all for archivist/general/manager, otherwise your own); ?status=overdue",
                   responses=LendingSerializer(many=True))
    def get(self, request):
        qs = selectors.lendings_visible_to(request.user)
        wanted = request.query_params.get("status")
        if wanted == "overdue":
            qs = qs.filter(pk__in=selectors.overdue_lendings().values("pk"))
        elif wanted:
            qs = qs.filter(status=wanted)
        return Response(LendingSerializer(qs[:500], many=True).data)

    @extend_schema(summary="Ask to borrow a file (anyone with a post who may see the loan)", request=LendingInput,
                   responses={201: LendingSerializer})
    def post(self, request):
        data = LendingInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = selectors.access_item(request.user, data.validated_data["item"])
        lending = services.lending_request(item_id=item.pk, actor=request.user, purpose=data.validated_data["purpose"],
                                           due_on=data.validated_data["due_on"])
        return Response(LendingSerializer(lending).data, status=status.HTTP_201_CREATED)


class LendingNoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


SERVICES = {"approve": services.lending_approve, "refuse": services.lending_refuse, "out": services.lending_out,
            "return": services.lending_return}
ACTIONS = {  # version: the lending's version the client read (rule 22), or None
    "approve": lambda lending, user, note, version: services.lending_approve(lending_id=lending, actor=user, note=note,
                                                                             version=version),
    "refuse": lambda lending, user, note, version: services.lending_refuse(lending_id=lending, actor=user, note=note,
                                                                           version=version),
    "out": lambda lending, user, note, version: services.lending_out(lending_id=lending, actor=user, version=version),
    "return": lambda lending, user, note, version: services.lending_return(lending_id=lending, actor=user, note=note,
                                                                           version=version),
}


def lending_action_view(name: str):
    class LendingAction(APIView):
        permission_classes = [HasPost]

        @extend_schema(summary=f"Lending: {name}", request=LendingNoteInput, responses=LendingSerializer,
                       operation_id=f"archive_lending_{name}")
        def post(self, request, pk: int):
            lending = get_object_or_404(Lending.objects.only("loan_id"), pk=pk)
            access_loan(request.user, lending.loan_id, action=SERVICES[name].action)
            check_caller(SERVICES[name], request.user, loan_id=lending.loan_id)
            data = LendingNoteInput(data=request.data)
            data.is_valid(raise_exception=True)
            done = ACTIONS[name](lending.pk, request.user, data.validated_data["note"],
                                 versioning.expected_version(request, request.data))
            return Response(LendingSerializer(done).data)

    LendingAction.__name__ = f"Lending{name.title()}"
    return LendingAction
