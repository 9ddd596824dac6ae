"""Every string the web map shows that does not come from the layer registry, in uk and en."""

from __future__ import annotations

LANGUAGES = ("uk", "en")
DEFAULT_LANGUAGE = "uk"

#: UI strings: key -> {"uk": ..., "en": ...}
STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"uk": "Карта громади", "en": "Hromada map"},
    "layers": {"uk": "Шари", "en": "Layers"},
    "demo_badge": {"uk": "демо-дані", "en": "demo data"},
    "demo_note": {
        "uk": "На карті є вигадані демонстраційні об’єкти, а не справжні дані громади",
        "en": "The map shows invented demonstration features, not the hromada's real data",
    },
    "legend": {"uk": "Легенда", "en": "Legend"},
    "filters": {"uk": "Фільтри", "en": "Filters"},
    "any": {"uk": "усі", "en": "all"},
    "yes": {"uk": "так", "en": "yes"},
    "no": {"uk": "ні", "en": "no"},
    "shown": {"uk": "показано", "en": "shown"},
    "of": {"uk": "з", "en": "of"},
    "zoom_in_to_see": {"uk": "наблизьте, щоб побачити", "en": "zoom in to see"},
    "basemap": {"uk": "Базова карта (онлайн)", "en": "Basemap (online)"},
    "search": {"uk": "Пошук за назвою чи адресою", "en": "Search by name or address"},
    "no_results": {"uk": "Нічого не знайдено", "en": "Nothing found"},
    "go_to": {"uk": "Перейти до…", "en": "Go to…"},
    "hromada": {"uk": "Уся громада", "en": "Whole hromada"},
    "nearest_title": {"uk": "Найближче укриття", "en": "Nearest shelter"},
    "nearest_click": {"uk": "Клацніть на карті", "en": "Click on the map"},
    "nearest_here": {"uk": "Від мого місця", "en": "From my location"},
    "nearest_hint": {
        "uk": "Клацніть на карті — покажемо найближчі укриття.",
        "en": "Click on the map to list the nearest shelters.",
    },
    "nearest_tap": {"uk": "Торкніться карти", "en": "Tap the map"},
    "nearest_hint_touch": {
        "uk": "Торкніться карти — покажемо найближчі укриття.",
        "en": "Tap the map to list the nearest shelters.",
    },
    "nearest_only": {"uk": "Лише", "en": "Only"},
    "nearest_filters": {"uk": "Звузити пошук", "en": "Narrow the search"},
    "geo_waiting": {
        "uk": "Визначаємо ваше місцеперебування…",
        "en": "Finding your location…",
    },
    "geo_failed_touch": {
        "uk": "Не вдалося визначити ваше місцеперебування — торкніться карти, щоб обрати точку",
        "en": "Could not find your location — tap the map to choose a point",
    },
    "geo_failed_click": {
        "uk": "Не вдалося визначити ваше місцеперебування — клацніть на карті, щоб обрати точку",
        "en": "Could not find your location — click on the map to choose a point",
    },
    "close": {"uk": "Закрити", "en": "Close"},
    "nearest_none": {
        "uk": "Немає укриттів за цими фільтрами",
        "en": "No shelter matches the filters",
    },
    "nearest_loading": {"uk": "Прокладаємо пішохідні маршрути…", "en": "Finding walking routes…"},
    "nearest_unreachable": {
        "uk": "Поблизу немає укриттів, до яких можна дійти пішки",
        "en": "No shelter is within walking reach",
    },
    "nearest_off_network": {
        "uk": "Точка надто далеко від вулиць, щоб прокласти пішохідний маршрут",
        "en": "The point is too far from the streets for a walking route",
    },
    "method_walking": {
        "uk": "Пішохідна відстань вулицями (маршрути розраховує сервер)",
        "en": "Walking distance along the streets (routes computed by the server)",
    },
    "method_straight": {
        "uk": "Показано відстань по прямій, не пішохідну.",
        "en": "Showing straight-line distance, not walking.",
    },
    "method_static": {
        "uk": "Статична копія без сервера: відстань по прямій, не пішохідна",
        "en": "Static copy without a server: straight-line distance, not walking",
    },
    "walking_failed": {
        "uk": "Не вдалося прокласти пішохідний маршрут",
        "en": "The server could not compute a walking route",
    },
    "walk": {"uk": "пішки", "en": "on foot"},
    "min": {"uk": "хв", "en": "min"},
    "straight_line": {"uk": "по прямій", "en": "straight line"},
    "distance": {"uk": "Відстань", "en": "Distance"},
    "measure": {"uk": "Виміряти відстань", "en": "Measure distance"},
    "measure_hint": {
        "uk": "Клацайте на карті, щоб додати точки; подвійне клацання, Esc чи кнопка — завершити",
        "en": "Click on the map to add points; double-click, Esc or the button to finish",
    },
    "total": {"uk": "Разом", "en": "Total"},
    "fullscreen": {"uk": "На весь екран", "en": "Full screen"},
    "exit_fullscreen": {"uk": "Вийти з повного екрана", "en": "Exit full screen"},
    "locate": {"uk": "Моє місцеперебування", "en": "My location"},
    "open_feature": {"uk": "Об'єкт в OGC API", "en": "Feature in the OGC API"},
    "load_error": {"uk": "Не вдалося завантажити шар", "en": "Could not load the layer"},
    "language": {"uk": "Мова", "en": "Language"},
    "sign_in": {"uk": "Увійти", "en": "Sign in"},
    "sign_in_title": {"uk": "Вхід для працівників", "en": "Staff sign-in"},
    "sign_out": {"uk": "Вийти", "en": "Sign out"},
    "login": {"uk": "Логін", "en": "Login"},
    "password": {"uk": "Пароль", "en": "Password"},
    "cancel": {"uk": "Скасувати", "en": "Cancel"},
    "signed_in_as": {"uk": "Ви увійшли як", "en": "Signed in as"},
    "signing_in": {"uk": "Вхід…", "en": "Signing in…"},
    "edit": {"uk": "Редагувати", "en": "Edit"},
    "edit_title": {"uk": "Редагування об'єкта", "en": "Edit feature"},
    "save": {"uk": "Зберегти", "en": "Save"},
    "saving": {"uk": "Збереження…", "en": "Saving…"},
    "saved": {"uk": "Збережено", "en": "Saved"},
    "required_mark": {"uk": "обов'язкове поле", "en": "required field"},
    "not_set": {"uk": "— не задано —", "en": "— not set —"},
    "no_changes": {"uk": "Змін немає", "en": "Nothing changed"},
    "edit_failed": {"uk": "Не вдалося зберегти", "en": "Could not save"},
    "edit_invalid": {
        "uk": "Виправте позначені поля",
        "en": "Correct the marked fields",
    },
    "conflict_title": {
        "uk": "Конфлікт: хтось зберіг цей об'єкт раніше",
        "en": "Conflict: someone saved this feature first",
    },
    "conflict_text": {
        "uk": "Ваші зміни не збережено. Нижче — поля, у яких версії різняться.",
        "en": "Your changes were not saved. Below: the fields where the versions differ.",
    },
    "history": {"uk": "Історія змін", "en": "Change history"},
    "history_version": {"uk": "Версія", "en": "Version"},
    "history_when": {"uk": "Коли", "en": "When"},
    "history_who": {"uk": "Хто", "en": "Who"},
    "history_what": {"uk": "Що змінено", "en": "What changed"},
    "history_geometry": {"uk": "розташування", "en": "location"},
    "conflict_field": {"uk": "Поле", "en": "Field"},
    "conflict_yours": {"uk": "Ваша версія", "en": "Your version"},
    "conflict_stored": {"uk": "Збережена версія", "en": "Stored version"},
    "conflict_reload": {
        "uk": "Завантажити збережену версію",
        "en": "Load the stored version",
    },
    "conflict_overwrite": {
        "uk": "Перезаписати моєю версією",
        "en": "Overwrite with my version",
    },
    "add_feature": {"uk": "Додати об'єкт", "en": "Add feature"},
    "add_title": {"uk": "Новий об'єкт", "en": "New feature"},
    "add_layer": {"uk": "Шар", "en": "Layer"},
    "add_hint": {
        "uk": "Клацніть на мапі там, де розташований новий об'єкт",
        "en": "Click on the map where the new feature is",
    },
    "created": {"uk": "Об'єкт додано", "en": "Feature added"},
    "location": {"uk": "Розташування", "en": "Location"},
    "move_hint": {
        "uk": "Перетягніть точку на мапі, щоб змінити розташування",
        "en": "Drag the point on the map to move it",
    },
    "moved": {"uk": "змінено, ще не збережено", "en": "changed, not saved yet"},
    "delete": {"uk": "Видалити", "en": "Delete"},
    "delete_confirm": {
        "uk": "Видалити цей об'єкт? Він зникне з мапи; попередні версії залишаться в історії змін.",
        "en": "Delete this feature? It disappears from the map; its earlier versions stay "
        "in the change history.",
    },
    "delete_yes": {"uk": "Так, видалити", "en": "Yes, delete"},
    "delete_no": {"uk": "Не видаляти", "en": "Keep it"},
    "deleting": {"uk": "Видалення…", "en": "Deleting…"},
    "deleted": {"uk": "Об'єкт видалено", "en": "Feature deleted"},
    "delete_failed": {"uk": "Не вдалося видалити", "en": "Could not delete"},
    "delete_conflict": {
        "uk": "Не видалено: хтось змінив цей об'єкт раніше",
        "en": "Not deleted: someone changed this feature first",
    },
    "open_failed": {"uk": "Не вдалося відкрити об'єкт", "en": "Could not open the feature"},
    "open_gone": {
        "uk": "його не знайдено — можливо, його вже видалили",
        "en": "it was not found; it may have been deleted",
    },
    "open_signed_out": {
        "uk": "сеанс завершився, увійдіть знову",
        "en": "your session has ended; sign in again",
    },
    "open_offline": {"uk": "немає зв'язку із сервером", "en": "the server cannot be reached"},
    "sign_in_error": {
        "uk": "Не вдалося увійти; спробуйте ще раз",
        "en": "Could not sign in; try again",
    },
    "km": {"uk": "км", "en": "km"},
    "m": {"uk": "м", "en": "m"},
    "hours_24_7": {"uk": "цілодобово", "en": "24/7"},
    "hours_off": {"uk": "зачинено", "en": "closed"},
    "hours_holidays": {"uk": "святкові дні", "en": "public holidays"},
    "static_note": {
        "uk": "Статична копія; дані на момент експорту",
        "en": "Static copy; data as of the export",
    },
    # residents' reports (gisplatform/webmap/static/js/reports.js)
    "report_problem": {"uk": "Повідомити про проблему", "en": "Report a problem"},
    "report_here": {"uk": "Повідомити про проблему тут", "en": "Report a problem here"},
    "report_pick": {
        "uk": "Клацніть на карті там, де проблема",
        "en": "Click on the map where the problem is",
    },
    "report_title": {"uk": "Повідомити про проблему", "en": "Report a problem"},
    "report_kind": {"uk": "Що повідомляєте", "en": "What are you reporting"},
    "report_description": {"uk": "Опис (необов'язково)", "en": "Description (optional)"},
    "report_contact": {
        "uk": "Ваш контакт (необов'язково)",
        "en": "Your contact (optional)",
    },
    "report_contact_hint": {
        "uk": "Бачать лише працівники, які опрацьовують повідомлення; ніколи не публікується",
        "en": "Seen only by the staff who handle the report; never published",
    },
    "report_photo": {"uk": "Фото (необов'язково, до 8 МБ)", "en": "Photo (optional, up to 8 MB)"},
    "report_send": {"uk": "Надіслати", "en": "Send"},
    "report_sending": {"uk": "Надсилаємо…", "en": "Sending…"},
    "report_fix": {"uk": "Виправте позначені поля", "en": "Correct the marked fields"},
    "report_failed": {"uk": "Не вдалося надіслати", "en": "Could not send"},
    "report_sent_title": {"uk": "Дякуємо!", "en": "Thank you!"},
    "report_sent": {"uk": "Повідомлення № {id} прийнято.", "en": "Report No {id} is received."},
    "report_follow": {
        "uk": "Стежте за його розглядом на сторінці:",
        "en": "Follow how it is handled on its page:",
    },
    "report_status_link": {"uk": "стан повідомлення", "en": "report status"},
}

#: Layer-panel group titles for the registry's ``theme`` identifiers.
THEMES: dict[str, dict[str, str]] = {
    "boundaries": {"uk": "Межі та населені пункти", "en": "Boundaries and settlements"},
    "safety": {"uk": "Безпека", "en": "Safety"},
    "services": {"uk": "Послуги та заклади", "en": "Services and facilities"},
    "transport": {"uk": "Транспорт", "en": "Transport"},
    "buildings": {"uk": "Будівлі", "en": "Buildings"},
    "lighting": {"uk": "Освітлення", "en": "Lighting"},
    "nature": {"uk": "Природа та вода", "en": "Nature and water"},
    "utilities": {"uk": "Комунальна інфраструктура", "en": "Utilities"},
}

#: A unit's word: one form, or the plural forms of ``Intl.PluralRules`` (one, few, many, other).
UnitWord = str | dict[str, str]

#: How the registry's ``unit`` codes are written in each language.
UNITS: dict[str, dict[str, UnitWord]] = {
    "persons": {
        "uk": {"one": "особа", "few": "особи", "many": "осіб", "other": "особи"},
        "en": {"one": "person", "other": "persons"},
    },
    "m": {"uk": "м", "en": "m"},
    "m2": {"uk": "м²", "en": "m²"},
    "km2": {"uk": "км²", "en": "km²"},
    "km": {"uk": "км", "en": "km"},
    "ha": {"uk": "га", "en": "ha"},
    "W": {"uk": "Вт", "en": "W"},
    "kW": {"uk": "кВт", "en": "kW"},
    "seats": {
        "uk": {"one": "місце", "few": "місця", "many": "місць", "other": "місця"},
        "en": {"one": "seat", "other": "seats"},
    },
    "floors": {"uk": "пов.", "en": "floors"},
}


def language(value: str | None) -> str:
    """A supported language code: ``value`` if known, else Ukrainian."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def theme_title(theme: str) -> dict[str, str]:
    """The panel title of ``theme`` in both languages (the identifier if untranslated)."""
    return THEMES.get(theme, {"uk": theme, "en": theme.replace("_", " ").capitalize()})


def unit_label(unit: str) -> dict[str, UnitWord]:
    """``unit`` in both languages (the code itself if untranslated)."""
    return UNITS.get(unit, {"uk": unit, "en": unit})
