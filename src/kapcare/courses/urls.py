from django.urls import path

from kapcare.courses import views

app_name = "courses"

urlpatterns = [
    path("protocols/", views.protocol_list, name="protocols"),
    path("protocols/new/", views.protocol_create, name="protocol_create"),
    path("protocols/<int:protocol_id>/", views.protocol_detail, name="protocol"),
    path("protocols/<int:protocol_id>/edit/", views.protocol_edit, name="protocol_edit"),
    path("resources/", views.resources, name="resources"),
    path("resources/<int:resource_id>/", views.resource_edit, name="resource_edit"),
    path("patients/<int:patient_id>/courses/plan/", views.plan, name="plan"),
    path(
        "patients/<int:patient_id>/appointments/",
        views.patient_appointments,
        name="patient_appointments",
    ),
    path(
        "patients/<int:patient_id>/calendar-feeds/",
        views.patient_feed_create,
        name="patient_feed_create",
    ),
    path("courses/<int:course_id>/", views.course, name="course"),
    path("courses/<int:course_id>/boosters/", views.add_booster, name="add_booster"),
    path(
        "patients/<int:patient_id>/appointments/book/",
        views.appointment_book,
        name="appointment_book",
    ),
    path("appointments/<int:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    # One view, one URL name per move: the policy gives each its roles.
    *(
        path(
            f"appointments/<int:appointment_id>/{move.replace('_', '-')}/",
            views.appointment_move,
            {"move": move},
            name=f"appointment_{move}",
        )
        for move in views.MOVES
    ),
    path("day/<str:day>/", views.day, name="day"),
    path("calendar/", views.my_calendar, name="my_calendar"),
    path("calendar/feeds/", views.my_feed_create, name="my_feed_create"),
    path("calendar/feeds/<int:feed_id>/revoke/", views.feed_revoke, name="feed_revoke"),
    # Public: the secret token in the address is the credential (calendar apps cannot sign in).
    path("calendar/<str:token>.ics", views.feed, name="feed"),
]
