"""REST API of documents (SPEC §14, §16.7–8): thin views over the scope helpers and the services."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.files import services
from applications.files.models import DocumentFile
from applications.files.selectors import access_document, files_of_loan
from applications.files.serving import file_response, preview_response, too_large
from applications.files.uploads import upload_too_large
from applications.selectors import access_customer, access_loan
from loancenter.apis import ErrorSerializer, HasPost
from loancenter.refusals import check_caller


class DocumentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    status = serializers.CharField(source="state")
    label = serializers.CharField()

    class Meta:
        model = DocumentFile
        fields = ["id", "code", "label", "name", "sha256", "size", "content_type", "pages", "version", "uploaded_by",
                  "uploaded_at", "loan", "customer", "status", "void_reason"]


UPLOAD_INPUT = inline_serializer("DocumentUpload", {"code": serializers.CharField(), "file": serializers.FileField()})
UPLOAD_RESPONSES = {
    201: DocumentSerializer,
    400: OpenApiResponse(ErrorSerializer, description="unsupported_type, unreadable_file, polyglot, pdf_active_content, "
                                                      "pdf_encrypted, empty_file, unknown_document, file_required"),
    403: OpenApiResponse(ErrorSerializer, description="post_required: your post does not file this paper"),
    404: OpenApiResponse(description="Outside your data scope"),
    413: OpenApiResponse(ErrorSerializer, description="file_too_large (DOCUMENT_MAX_BYTES, default 20 MB)"),
}


def _upload(request, *, loan_id: int | None, customer_id: int | None) -> Response:
    code, upload = request.data.get("code", ""), request.FILES.get("file")  # parses the body (the limit counts)
    if upload_too_large(request):  # the rest of the body was read and discarded
        error = too_large(request, loan_id=loan_id)
        return Response(error.as_dict(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    document = services.document_upload(actor=request.user, loan_id=loan_id, customer_id=customer_id,
                                        code=code, upload=upload)
    return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class LoanDocumentsView(APIView):
    permission_classes = [HasPost]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="A loan's files and its borrower's folder files, every version",
                   responses={200: DocumentSerializer(many=True)}, tags=["documents"])
    def get(self, request, pk: int):
        loan = access_loan(request.user, pk, action="documents")
        rows = files_of_loan(loan).exclude(state=DocumentFile.State.VOIDED)
        return Response(DocumentSerializer(rows, many=True).data)

    @extend_schema(summary="Upload a file for one of the loan's document codes (a new version if one exists)",
                   request={"multipart/form-data": UPLOAD_INPUT}, responses=UPLOAD_RESPONSES, tags=["documents"])
    def post(self, request, pk: int):
        loan = access_loan(request.user, pk, action="document_upload")
        check_caller(services.document_upload, request.user, loan_id=loan.pk)
        return _upload(request, loan_id=loan.pk, customer_id=None)


class CustomerDocumentsView(APIView):
    permission_classes = [HasPost]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="A customer's folder files (not tied to one loan)",
                   responses={200: DocumentSerializer(many=True)}, tags=["documents"])
    def get(self, request, pk: int):
        customer = access_customer(request.user, pk)
        rows = DocumentFile.objects.filter(customer=customer, loan__isnull=True).exclude(
            state=DocumentFile.State.VOIDED).select_related("uploaded_by")
        return Response(DocumentSerializer(rows, many=True).data)

    @extend_schema(summary="Upload a folder file: ID scans, the credit-report authorisation (SPEC §16.8)",
                   request={"multipart/form-data": UPLOAD_INPUT}, responses=UPLOAD_RESPONSES, tags=["documents"])
    def post(self, request, pk: int):
        customer = access_customer(request.user, pk)
        check_caller(services.document_upload, request.user)
        return _upload(request, loan_id=None, customer_id=customer.pk)


class DocumentFileView(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="Download the file (attachment; ?inline=1 shows a checked PDF/image in the browser)",
                   responses={(200, "application/octet-stream"): OpenApiResponse(description="the file's bytes"),
                              404: OpenApiResponse(description="Outside your data scope")}, tags=["documents"])
    def get(self, request, pk: int):
        document = access_document(request.user, pk)
        return file_response(reader=request.user, document=document, surface="api",
                             inline=request.query_params.get("inline") == "1")


class DocumentPreviewView(APIView):
    permission_classes = [HasPost]

    @extend_schema(summary="The reduced preview (JPEG); 404 until the preview task has made it",
                   responses={(200, "image/jpeg"): OpenApiResponse(description="JPEG")}, tags=["documents"])
    def get(self, request, pk: int):
        response = preview_response(access_document(request.user, pk, action="document_preview"))
        if response is None:
            return Response({"code": "no_preview", "detail": "not made yet"}, status=status.HTTP_404_NOT_FOUND)
        return response


REASON = inline_serializer("VoidRequest", {"reason": serializers.CharField()})


class DocumentVoidView(APIView):
    permission_classes = [HasPost]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(summary="Ask to void a misfiled version (a second person decides)", request=REASON,
                   responses={200: DocumentSerializer}, tags=["documents"])
    def post(self, request, pk: int):
        document = access_document(request.user, pk, action="document_void_request")
        check_caller(services.document_void_request, request.user, loan_id=document.loan_id)
        document = services.document_void_request(actor=request.user, document_id=document.pk,
                                                  reason=str(request.data.get("reason", "")))
        return Response(DocumentSerializer(document).data)


class DocumentVoidDecideView(APIView):
    permission_classes = [HasPost]
    approve = True

    @extend_schema(summary="Confirm (or refuse) a requested void: archivist or manager, not the one who asked",
                   request=None, responses={200: DocumentSerializer}, tags=["documents"])
    def post(self, request, pk: int):
        document = access_document(request.user, pk, action="document_void_decide")
        check_caller(services.document_void_decide, request.user, loan_id=document.loan_id)
        document = services.document_void_decide(actor=request.user, document_id=document.pk, approve=self.approve)
        return Response(DocumentSerializer(document).data)


class DocumentVoidRejectView(DocumentVoidDecideView):
    approve = False
