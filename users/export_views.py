"""Export, template and stats endpoints."""

from rest_framework.views import APIView


class ExportView(APIView):
    pass


class TemplateView(APIView):
    pass


class StatsView(APIView):
    pass
