from django.urls import path

from incidents.geocoding import views

app_name = "geocoding"
urlpatterns = [
    path("review/", views.review_list, name="review_list"),
    path("review/<int:pk>/", views.review_detail, name="review_detail"),
    path("review/boroughs.geojson", views.boroughs_geojson, name="boroughs_geojson"),
]
