"""The message catalogue: every error and notice a person reads, Ukrainian first.

Keys are grouped by the part of the platform that raises them. Placeholders use
``str.format`` names; both languages take the same ones.
"""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    # --- import: rows ---------------------------------------------------------------------
    "row_problem": {
        "uk": "рядок {row}, поле «{field}»: {message}",
        "en": "row {row}, field {field!r}: {message}",
    },
    "rule_broken": {"uk": "{message} (правило {rule})", "en": "{message} (rule {rule})"},
    "outside_hromada": {
        "uk": "поза громадою ({where}), не імпортовано",
        "en": "outside the hromada ({where}), not imported",
    },
    # --- editing (OGC API Features Part 4) ------------------------------------------------
    "edit_problem": {"uk": "поле «{field}»: {message}", "en": "field {field!r}: {message}"},
    "edit_rejected": {
        "uk": "об'єкт не збережено: {problems}",
        "en": "the feature is not saved: {problems}",
    },
    "edit_unknown_field": {
        "uk": "шар {layer} не має такого поля",
        "en": "the layer {layer} has no such field",
    },
    "edit_field_not_writable": {
        "uk": "вам не дозволено змінювати це поле",
        "en": "you may not write this field",
    },
    "edit_not_json": {
        "uk": "тіло запиту не є коректним JSON: {reason}",
        "en": "the request body is not valid JSON: {reason}",
    },
    "edit_not_feature": {
        "uk": "тіло запиту має бути GeoJSON-об'єктом типу Feature",
        "en": "the request body must be a GeoJSON object of type Feature",
    },
    "edit_not_object": {
        "uk": "тіло запиту має бути JSON-об'єктом (RFC 7396)",
        "en": "the request body must be a JSON object (RFC 7396)",
    },
    "edit_properties_object": {
        "uk": "«properties» має бути об'єктом",
        "en": "'properties' must be an object",
    },
    "edit_geometry_unreadable": {
        "uk": "геометрію не прочитано: {reason}",
        "en": "the geometry cannot be read: {reason}",
    },
    "edit_geometry_required": {
        "uk": "геометрія обов'язкова",
        "en": "a geometry is required",
    },
    "edit_id_change": {
        "uk": "ідентифікатор об'єкта змінювати не можна ({given} замість {fid})",
        "en": "the feature id cannot change ({given} instead of {fid})",
    },
    "edit_too_large": {
        "uk": "тіло запиту більше за {limit} байтів",
        "en": "the request body is larger than {limit} bytes",
    },
    "edit_media_type": {
        "uk": "тип вмісту «{given}» не підтримується; надсилайте {wanted}",
        "en": "the content type {given!r} is not supported; send {wanted}",
    },
    "edit_sign_in": {
        "uk": "щоб змінювати дані, увійдіть (Basic або Bearer)",
        "en": "sign in (Basic or Bearer) to change data",
    },
    "edit_forbidden": {
        "uk": "вам не дозволено змінювати шар {layer}",
        "en": "you may not change the layer {layer}",
    },
    "edit_precondition": {
        "uk": "об'єкт уже змінено (If-Match {given}, поточний ETag {etag}); перечитайте його",
        "en": "the feature has changed (If-Match {given}, current ETag {etag}); read it again",
    },
    "edit_key_taken": {
        "uk": "інший об'єкт шару вже має {key}",
        "en": "another feature of the layer already has {key}",
    },
    "edit_constraint": {
        "uk": "база даних відхилила значення ({constraint})",
        "en": "the database refused the value ({constraint})",
    },
    "history_sign_in": {
        "uk": "історію змін бачать лише працівники: увійдіть",
        "en": "the change history is for staff: sign in",
    },
    "as_of_format": {
        "uk": "очікується мить у форматі ISO 8601, напр. 2026-12-01T12:00:00Z",
        "en": "expected a moment in ISO 8601, e.g. 2026-12-01T12:00:00Z",
    },
    "history_no_version": {
        "uk": "в історії немає версії {version} об'єкта {fid}",
        "en": "the history holds no version {version} of feature {fid}",
    },
    "history_restored": {
        "uk": "{layer}/{fid}: відновлено версію {version}, тепер версія {new_version}",
        "en": "{layer}/{fid}: version {version} restored, now version {new_version}",
    },
    "history_recreated": {
        "uk": "(видалений об'єкт створено знову з тим самим ідентифікатором)",
        "en": "(the deleted feature is created again with the same id)",
    },
    # --- import: values -------------------------------------------------------------------
    "value_nul": {"uk": "містить символ NUL", "en": "contains a NUL character"},
    "value_too_long": {
        "uk": "довжина {length} символів, більше за максимум {maximum}",
        "en": "is {length} characters long, longer than the maximum {maximum}",
    },
    "value_pattern": {
        "uk": "{value} не відповідає шаблону {pattern}",
        "en": "{value} does not match the pattern {pattern}",
    },
    "value_boolean_not_number": {
        "uk": "{value} — логічне значення, а не число",
        "en": "{value} is a boolean, not a number",
    },
    "value_not_integer": {"uk": "{value} не є цілим числом", "en": "{value} is not an integer"},
    "value_not_number": {"uk": "{value} не є числом", "en": "{value} is not a number"},
    "value_not_finite": {
        "uk": "{value} не є скінченним числом",
        "en": "{value} is not a finite number",
    },
    "value_below_minimum": {
        "uk": "{value} менше за мінімум {minimum}",
        "en": "{value} is below the minimum {minimum}",
    },
    "value_above_maximum": {
        "uk": "{value} більше за максимум {maximum}",
        "en": "{value} is above the maximum {maximum}",
    },
    "value_not_whole": {"uk": "{value} не є цілим числом", "en": "{value} is not a whole number"},
    "value_int32": {
        "uk": "{value} не вміщується в 32-бітове ціле",
        "en": "{value} does not fit a 32-bit integer",
    },
    "value_not_boolean": {
        "uk": "{value} не є значенням так/ні (так/ні, є/немає, true/false, 1/0)",
        "en": "{value} is not a yes/no value (true/false, так/ні, 1/0)",
    },
    "value_not_date": {
        "uk": "{value} не є датою (РРРР-ММ-ДД або ДД.ММ.РРРР)",
        "en": "{value} is not a date (YYYY-MM-DD or DD.MM.YYYY)",
    },
    "value_not_datetime": {"uk": "{value} не є датою й часом", "en": "{value} is not a date-time"},
    "value_has_time": {
        "uk": "{value} містить час доби, а поле зберігає лише дати",
        "en": "{value} has a time of day; the field holds dates only",
    },
    "value_unknown_enum": {
        "uk": "невідоме значення {value}; допустимі: {allowed}",
        "en": "unknown value {value}; allowed: {allowed}",
    },
    "value_not_json_list": {"uk": "{value} не є списком JSON", "en": "{value} is not a JSON list"},
    "required_missing": {"uk": "обов'язкове значення відсутнє", "en": "required value is missing"},
    "import_layer_locked": {
        "uk": "шар «{layer}» зайнятий іншим сеансом (інший імпорт чи довгий запит): блокування "
        "не отримано за {seconds} с; шар не змінено, повторіть пізніше",
        "en": "layer '{layer}' is busy in another session (another import or a long query): "
        "its lock was not granted within {seconds} s; the layer is unchanged, try again later",
    },
    "import_timed_out": {
        "uk": "імпорт у шар «{layer}» перервано: запит тривав довше за {seconds} с "
        "(GISPLATFORM_IMPORT_STATEMENT_TIMEOUT_S); шар не змінено",
        "en": "the import into layer '{layer}' was stopped: a statement ran longer than "
        "{seconds} s (GISPLATFORM_IMPORT_STATEMENT_TIMEOUT_S); the layer is unchanged",
    },
    "duplicate_key": {
        "uk": "природний ключ ({key}) повторюється також у рядку {rows}",
        "en": "duplicate natural key ({key}) also in row {rows}",
    },
    "key_exists": {
        "uk": "природний ключ ({key}) уже є в шарі (оновіть його з --mode upsert)",
        "en": "natural key ({key}) already exists in the layer (use --mode upsert to update it)",
    },
    # --- import: coordinates and geometry -------------------------------------------------
    "dms_empty": {"uk": "порожня координата", "en": "empty coordinate"},
    "dms_not_coordinate": {
        "uk": "{value} не є координатою (очікується, напр., N 50°50'22\")",
        "en": "{value} is not a coordinate (expected e.g. N 50°50'22\")",
    },
    "dms_sixty": {
        "uk": "{value} має хвилини чи секунди 60 або більше",
        "en": "{value} has minutes or seconds of 60 or more",
    },
    "dms_fraction": {
        "uk": "{value} має дробові градуси перед хвилинами",
        "en": "{value} has fractional degrees before minutes",
    },
    "dms_range": {
        "uk": "{value} поза межами (±{limit}°)",
        "en": "{value} is out of range (±{limit}°)",
    },
    "coordinate_missing": {"uk": "координата відсутня", "en": "coordinate is missing"},
    "not_wkt": {"uk": "не є геометрією WKT", "en": "not a WKT geometry"},
    "geometry_missing": {"uk": "геометрія відсутня", "en": "geometry is missing"},
    "geometry_empty": {"uk": "геометрія порожня", "en": "geometry is empty"},
    "geometry_untransformable": {
        "uk": "координати не вдається перерахувати у WGS 84",
        "en": "coordinates cannot be transformed to WGS 84",
    },
    "geometry_unrepairable": {
        "uk": "недійсна геометрія ({reason}), яку --repair не виправляє",
        "en": "invalid geometry ({reason}) that --repair cannot fix",
    },
    "geometry_invalid": {
        "uk": "недійсна геометрія: {reason} (виправте з --repair)",
        "en": "invalid geometry: {reason} (use --repair to fix)",
    },
    "geometry_wrong_type": {
        "uk": "{found}, а шар «{layer}» містить {wanted}",
        "en": "{found} where layer '{layer}' holds {wanted}",
    },
    "geometry_multipart": {
        "uk": "{found} з {count} частин, а шар «{layer}» містить окремі {wanted}",
        "en": "{found} of {count} parts where layer '{layer}' holds single {wanted}s",
    },
    "outside_area": {
        "uk": "лежить у точці довгота {lon}, широта {lat}, поза зоною інтересу ({area})",
        "en": "lies at lon {lon}, lat {lat}, outside the area of interest ({area})",
    },
    "axes_swapped": {
        "uk": "; якщо поміняти x і y, точка буде всередині: схоже, осі переплутано "
        "(спершу північ?), повторіть з --swap-xy",
        "en": "; with x and y swapped it would be inside: the axes look swapped "
        "(northing first?), re-run with --swap-xy",
    },
    "the_hromada": {"uk": "громада", "en": "the hromada"},
    "hromada_boundary_source": {
        "uk": "межа в шарі {layer}{widened}",
        "en": "the boundary in layer {layer}{widened}",
    },
    "hromada_extent_source": {
        "uk": "заявлене охоплення профілю громади{widened}",
        "en": "the declared extent of the hromada profile{widened}",
    },
    # --- import: files and options --------------------------------------------------------
    "rows_rejected": {
        "uk": "відхилено рядків: {rows}, нічого не імпортовано:\n",
        "en": "{rows} row(s) rejected, nothing was imported:\n",
    },
    "more_problems": {
        "uk": "… і ще {count} проблем (див. --report ФАЙЛ)",
        "en": "… and {count} more problems (see --report FILE)",
    },
    "skip_invalid_needs_report": {
        "uk": "--skip-invalid потребує --report ФАЙЛ, щоб перелічити відхилені рядки",
        "en": "--skip-invalid needs --report FILE to list the rejected rows",
    },
    "file_no_rows": {
        "uk": "{file} не містить рядків; імпортувати нічого",
        "en": "{file} has no rows; nothing to import",
    },
    "file_no_geometry": {
        "uk": "{file} не має геометрії; назвіть її стовпці через --lon/--lat, --x/--y, --wkt "
        "або --dms-columns ШИРОТА,ДОВГОТА",
        "en": "{file} has no geometry; name its columns with --lon/--lat, --x/--y, --wkt or "
        "--dms-columns LAT,LON",
    },
    "file_no_crs": {
        "uk": "у {file} немає системи координат; вкажіть --source-crs (напр., EPSG:5564)",
        "en": "no CRS in {file}; give --source-crs (e.g. EPSG:5564)",
    },
    "option_value": {"uk": "{option}: {message}", "en": "{option}: {message}"},
    "no_such_field": {
        "uk": "{option}: у шарі «{layer}» немає поля «{field}»",
        "en": "{option}: layer '{layer}' has no field '{field}'",
    },
    "no_such_column": {
        "uk": "{option}: у {file} немає стовпця «{column}»; його стовпці: {columns}",
        "en": "{option}: {file} has no column '{column}'; its columns are: {columns}",
    },
    "file_does_not_fit": {
        "uk": "{file} не відповідає шару «{layer}»: немає стовпця для обов'язкових полів "
        "{fields}. Стовпці файлу: {columns}. Зіставте їх через --map СТОВПЕЦЬ=ПОЛЕ або задайте "
        "значення для всіх рядків через --set ПОЛЕ=ЗНАЧЕННЯ.",
        "en": "{file} does not fit layer '{layer}': no column for the required field(s) "
        "{fields}. The file's columns are: {columns}. Map them with --map COLUMN=FIELD or give "
        "a value for all rows with --set FIELD=VALUE.",
    },
    "no_column": {
        "uk": "немає стовпця «{column}»; стовпці: {columns}",
        "en": "no column '{column}'; the columns are: {columns}",
    },
    "give_both_xy": {
        "uk": "вкажіть обидва: --x/--lon і --y/--lat",
        "en": "give both --x/--lon and --y/--lat",
    },
    "aoi_format": {
        "uk": "--aoi має бути min_lon,min_lat,max_lon,max_lat, а не {value}",
        "en": "--aoi must be min_lon,min_lat,max_lon,max_lat, not {value}",
    },
    "aoi_order": {
        "uk": "--aoi {value}: мінімум має бути меншим за максимум",
        "en": "--aoi {value}: the minimum must be below the maximum",
    },
    "unknown_crs": {
        "uk": "невідома система координат {value}: {reason}",
        "en": "unknown CRS {value}: {reason}",
    },
    "unknown_export_format": {
        "uk": "невідомий формат експорту {value}; доступні: gpkg, geojson, shp, fgb, csv",
        "en": "unknown export format {value}; use one of: gpkg, geojson, shp, fgb, csv",
    },
    "where_format": {
        "uk": "--where {value}: очікується ПОЛЕ=ЗНАЧЕННЯ, де ПОЛЕ одне з: {fields}",
        "en": "--where {value}: expected FIELD=VALUE with FIELD one of: {fields}",
    },
    "where_list": {
        "uk": "--where {value}: за полями-списками фільтрувати не можна",
        "en": "--where {value}: list fields cannot be filtered",
    },
    "no_such_file": {"uk": "немає такого файлу: {path}", "en": "no such file: {path}"},
    "cannot_read": {
        "uk": "не вдається прочитати {file}: {reason} (файл обрізаний чи пошкоджений?)",
        "en": "cannot read {file}: {reason} (is the file truncated or corrupt?)",
    },
    "cannot_read_after": {
        "uk": "не вдається прочитати {file} після рядка {row}: {reason} "
        "(файл обрізаний чи пошкоджений?)",
        "en": "cannot read {file} after row {row}: {reason} (is the file truncated or corrupt?)",
    },
    "cannot_read_csv": {
        "uk": "не вдається прочитати {file} як CSV: {reason}",
        "en": "cannot read {file} as CSV: {reason}",
    },
    "unknown_encoding": {"uk": "невідоме кодування {value}", "en": "unknown encoding {value}"},
    "not_encoding": {
        "uk": "{file} не у кодуванні {encoding} (байт {byte} на позиції {offset}); "
        "спробуйте інше --encoding",
        "en": "{file} is not valid {encoding} (byte {byte} at offset {offset}); "
        "try another --encoding",
    },
    "not_utf8": {
        "uk": "{file} не в UTF-8 (байт {byte} на позиції {offset}); вкажіть його кодування, "
        "напр., --encoding cp1251",
        "en": "{file} is not UTF-8 (byte {byte} at offset {offset}); give its encoding, "
        "e.g. --encoding cp1251",
    },
    "no_such_layer_in_file": {
        "uk": "у {file} немає шару «{layer}»; його шари: {layers}",
        "en": "{file} has no layer '{layer}'; its layers are: {layers}",
    },
    "several_layers": {
        "uk": "{file} містить шарів: {count} ({layers}); оберіть один через --source-layer",
        "en": "{file} holds {count} layers ({layers}); choose one with --source-layer",
    },
    # --- import: command line -------------------------------------------------------------
    "import_failed": {"uk": "імпорт не вдався", "en": "import failed"},
    "export_failed": {"uk": "експорт не вдався", "en": "export failed"},
    "report_written": {
        "uk": "відхилені рядки записано до {path}",
        "en": "rejected rows written to {path}",
    },
    "hint_inside_hromada": {
        "uk": "підказка: якщо файл охоплює більше, ніж громаду (напр., реєстр області), додайте "
        "--inside-hromada, щоб лишити тільки об'єкти громади; решту буде пораховано як «поза "
        "громадою», а не відхилено",
        "en": "hint: if the file covers more than the hromada (e.g. an oblast register), add "
        "--inside-hromada to keep only the hromada's features; the others are counted as "
        "outside, not rejected",
    },
    "left_outside": {
        "uk": "поза громадою ({where}) лишилося об'єктів: {count}",
        "en": "{count} feature(s) outside the hromada ({where}) left out",
    },
    "warning": {"uk": "попередження", "en": "warning"},
    "rejected": {"uk": "відхилено", "en": "rejected"},
    "rejected_listed": {
        "uk": "відхилено рядків: {count}; усі перелічено в {path}",
        "en": "{count} row(s) rejected; all listed in {path}",
    },
    "exported": {
        "uk": "експортовано об'єктів: {count} шару {layer} до {path}",
        "en": "exported {count} feature(s) of {layer} to {path}",
    },
    "import_summary": {"uk": "імпорт до {layer}", "en": "import into {layer}"},
    "dry_run_note": {"uk": " (пробний запуск)", "en": " (dry run)"},
    "summary_read": {"uk": "прочитано", "en": "read"},
    "summary_valid": {"uk": "коректних", "en": "valid"},
    "summary_rejected": {"uk": "відхилено", "en": "rejected"},
    "summary_outside": {"uk": "поза громадою", "en": "outside"},
    "summary_inserted": {"uk": "додано", "en": "inserted"},
    "summary_updated": {"uk": "оновлено", "en": "updated"},
    "summary_unchanged": {"uk": "без змін", "en": "unchanged"},
    "summary_deleted": {"uk": "видалено", "en": "deleted"},
    "summary_time": {"uk": "час", "en": "time"},
    # --- errors shared by every part ------------------------------------------------------
    "unknown_layer": {"uk": "невідомий шар: «{name}»", "en": "unknown layer: '{name}'"},
    "invalid_parameter": {"uk": "{parameter}: {message}", "en": "{parameter}: {message}"},
    "feature_not_found": {"uk": "об'єкт не знайдено", "en": "feature not found"},
    "migration_refused": {
        "uk": "міграція видалила б дані й була відхилена; щоб застосувати, повторіть з "
        "--allow-drop:\n{listing}",
        "en": "migration would drop data and was refused; re-run with --allow-drop to apply:\n"
        "{listing}",
    },
    "invalid_layer_definitions": {
        "uk": "недійсні визначення шарів:\n{lines}",
        "en": "invalid layer definitions:\n{lines}",
    },
    # --- residents' reports: kinds, submission, Open311 (gisplatform.reports) -------------
    "invalid_report_kinds": {
        "uk": "недійсні види повідомлень:\n{lines}",
        "en": "invalid report kinds:\n{lines}",
    },
    "report_kinds_valid": {
        "uk": "видів повідомлень без помилок: {count}",
        "en": "report kinds valid: {count}",
    },
    "report_kind_not_mapping": {
        "uk": "вид повідомлення має бути словником (mapping)",
        "en": "a report kind must be a mapping",
    },
    "report_kind_file_name": {
        "uk": "код «{code}» має збігатися з назвою файлу {file}",
        "en": "the code {code!r} must match the file name {file}",
    },
    "report_kind_unknown_layer": {
        "uk": "у реєстрі немає шару «{name}»",
        "en": "the registry has no layer {name!r}",
    },
    "report_kind_unknown_role": {
        "uk": "немає ролі «{name}» (є: {known})",
        "en": "there is no role {name!r} (known: {known})",
    },
    "report_field": {"uk": "поле «{field}»: {message}", "en": "field {field!r}: {message}"},
    "report_rejected": {
        "uk": "повідомлення не прийнято: {problems}",
        "en": "the report is not accepted: {problems}",
    },
    "report_unknown_kind": {
        "uk": "немає такого виду повідомлення «{kind}» (є: {known})",
        "en": "there is no report kind {kind!r} (known: {known})",
    },
    "report_required_answer": {
        "uk": "дайте відповідь на питання «{question}»",
        "en": "answer the question {question!r}",
    },
    "report_unknown_option": {
        "uk": "відповіді «{given}» немає серед варіантів ({known})",
        "en": "{given!r} is not one of the options ({known})",
    },
    "report_one_option": {
        "uk": "оберіть один варіант",
        "en": "choose one option",
    },
    "report_not_boolean": {
        "uk": "відповідь має бути «так» або «ні» (true/false)",
        "en": "the answer must be yes or no (true/false)",
    },
    "report_unknown_question": {
        "uk": "вид «{kind}» не має такого питання",
        "en": "the kind {kind!r} has no such question",
    },
    "report_not_asked": {
        "uk": "це питання ставиться лише коли «{question}» = «{equals}»",
        "en": "this question is asked only when {question!r} is {equals!r}",
    },
    "report_location_required": {
        "uk": "вкажіть точку (lat і lon) або об'єкт (layer і feature_id)",
        "en": "give a point (lat and lon) or a feature (layer and feature_id)",
    },
    "report_not_number": {
        "uk": "має бути числом у градусах",
        "en": "must be a number in degrees",
    },
    "report_outside_hromada": {
        "uk": "точка ({lon}, {lat}) поза межами громади",
        "en": "the point ({lon}, {lat}) is outside the hromada",
    },
    "report_wrong_layer": {
        "uk": "повідомлення виду «{kind}» стосуються шару «{wanted}», а не «{given}»",
        "en": "reports of the kind {kind!r} are about the layer {wanted!r}, not {given!r}",
    },
    "report_no_layer": {
        "uk": "повідомлення виду «{kind}» не стосуються об'єктів шару",
        "en": "reports of the kind {kind!r} do not point at a layer's features",
    },
    "report_unknown_feature": {
        "uk": "у шарі «{layer}» немає об'єкта {fid}",
        "en": "the layer {layer!r} has no feature {fid}",
    },
    "report_too_long": {
        "uk": "довше за {limit} символів",
        "en": "longer than {limit} characters",
    },
    "report_body_too_large": {
        "uk": "запит більший за {limit} байтів",
        "en": "the request is larger than {limit} bytes",
    },
    "report_photo_too_large": {
        "uk": "фото більше за {limit} МБ",
        "en": "the photo is larger than {limit} MB",
    },
    "report_photo_type": {
        "uk": "файл не є фотографією JPEG, PNG або WebP (за вмістом: {found})",
        "en": "the file is not a JPEG, PNG or WebP photo (by its content: {found})",
    },
    "report_media_type": {
        "uk": "надсилайте форму як multipart/form-data або application/x-www-form-urlencoded",
        "en": "send the form as multipart/form-data or application/x-www-form-urlencoded",
    },
    "report_form_refused": {
        "uk": "повідомлення не прийнято; оновіть сторінку і спробуйте ще раз",
        "en": "the report is not accepted; reload the page and try again",
    },
    "report_too_fast": {
        "uk": "форму надіслано надто швидко; перевірте відповіді і надішліть ще раз",
        "en": "the form was sent too quickly; check the answers and send it again",
    },
    "report_rate_limited": {
        "uk": "забагато повідомлень з вашої адреси; спробуйте через {seconds} с",
        "en": "too many reports from your address; try again in {seconds} s",
    },
    "report_not_found": {
        "uk": "повідомлення не знайдено",
        "en": "the report is not found",
    },
    "report_status_unconfirmed": {"uk": "Очікує перевірки", "en": "Awaiting moderation"},
    "report_status_open": {"uk": "Підтверджено", "en": "Confirmed"},
    "report_status_in_progress": {"uk": "У роботі", "en": "In progress"},
    "report_status_resolved": {"uk": "Вирішено", "en": "Resolved"},
    "report_status_duplicate": {"uk": "Дублікат", "en": "Duplicate"},
    "report_status_rejected": {"uk": "Відхилено", "en": "Rejected"},
    "open311_unknown_service": {
        "uk": "немає послуги «{code}»",
        "en": "there is no service {code!r}",
    },
    "open311_missing": {
        "uk": "параметр «{name}» обов'язковий",
        "en": "the parameter {name!r} is required",
    },
    "open311_bad_date": {
        "uk": "«{name}» має бути датою й часом за ISO 8601",
        "en": "{name!r} must be an ISO 8601 date and time",
    },
    "open311_date_span": {
        "uk": "між start_date і end_date не більше {days} днів",
        "en": "start_date and end_date are at most {days} days apart",
    },
    "open311_bad_status": {
        "uk": "status має бути open або closed",
        "en": "status must be open or closed",
    },
    "open311_bad_id": {
        "uk": "«{value}» не є номером звернення",
        "en": "{value!r} is not a service request id",
    },
    "open311_notice": {
        "uk": "Дякуємо! Звернення № {id} прийнято; його перевірять протягом {hours} год.",
        "en": "Thank you! Request No {id} is received; it is reviewed within {hours} h.",
    },
    "report_page_title": {"uk": "Повідомлення № {id}", "en": "Report No {id}"},
    "report_page_state": {"uk": "Стан", "en": "State"},
    "report_page_kind": {"uk": "Вид", "en": "Kind"},
    "report_page_sent": {"uk": "Надіслано", "en": "Sent"},
    "report_page_deadline": {"uk": "Відповісти до", "en": "Answer due by"},
    "report_page_reason": {"uk": "Причина", "en": "Reason"},
    "report_page_duplicate": {
        "uk": "Дублікат повідомлення № {id}",
        "en": "Duplicate of report No {id}",
    },
    "report_page_description": {"uk": "Опис", "en": "Description"},
    "report_page_answers": {"uk": "Відповіді", "en": "Answers"},
    "report_page_place": {"uk": "Місце", "en": "Place"},
    "report_page_feature": {"uk": "об'єкт {fid} шару «{layer}»", "en": "feature {fid} of {layer}"},
    "report_page_steps": {"uk": "Історія", "en": "History"},
    "report_page_when": {"uk": "Коли", "en": "When"},
    "report_page_who": {"uk": "Хто", "en": "By"},
    "report_page_resident": {"uk": "заявник", "en": "reporter"},
    "report_page_keep": {
        "uk": "Збережіть адресу цієї сторінки: лише за нею можна стежити за повідомленням.",
        "en": "Keep this page's address: it is the only way to follow the report.",
    },
    "report_page_map": {"uk": "До мапи", "en": "Back to the map"},
    "report_yes": {"uk": "так", "en": "yes"},
    "report_no": {"uk": "ні", "en": "no"},
    "open311_awaiting": {
        "uk": "звернення очікує перевірки модератором",
        "en": "the request awaits moderation",
    },
    # --- OGC API ---------------------------------------------------------------------------
    "collection_not_found": {"uk": "колекцію не знайдено", "en": "collection not found"},
    "not_found": {"uk": "не знайдено", "en": "not found"},
    "method_not_allowed": {"uk": "метод не дозволено", "en": "method not allowed"},
    "service_unavailable": {
        "uk": "служба зараз не може відповісти",
        "en": "the service cannot answer now",
    },
    "invalid_parameters": {"uk": "недійсний параметр: {names}", "en": "invalid parameter: {names}"},
    "query_too_long": {"uk": "запит виконувався надто довго", "en": "the query took too long"},
    "database_unavailable": {
        "uk": "база даних зараз не може відповісти",
        "en": "the database cannot answer now",
    },
    "server_busy": {
        "uk": "сервер зараз не може взяти запит (база даних недоступна або перевантажена); "
        "спробуйте за кілька секунд",
        "en": "the server cannot take the request now (the database is unreachable or "
        "overloaded); try again in a few seconds",
    },
    "internal_error": {
        "uk": "внутрішня помилка; повідомте ідентифікатор запиту",
        "en": "internal error; quote the request id",
    },
    "use_json_or_html": {"uk": "вкажіть json або html", "en": "use json or html"},
    "use_uk_or_en": {"uk": "вкажіть uk або en", "en": "use uk or en"},
    "use_one_of": {"uk": "вкажіть одне з: {allowed}", "en": "use one of {allowed}"},
    "unknown_query_parameter": {"uk": "невідомий параметр запиту", "en": "unknown query parameter"},
    "bbox_four_numbers": {
        "uk": "чотири (або шість, з висотами) числа: minLon,minLat,maxLon,maxLat",
        "en": "four (or six, with heights) numbers: minLon,minLat,maxLon,maxLat",
    },
    "bbox_four_or_six": {
        "uk": "чотири або шість чисел через кому",
        "en": "four or six comma-separated numbers",
    },
    "bbox_antimeridian": {
        "uk": "прямокутники через антимеридіан не підтримуються",
        "en": "boxes crossing the antimeridian are not supported",
    },
    "bbox_order": {
        "uk": "нижній кут має йти перед верхнім",
        "en": "the lower corner must come before the upper corner",
    },
    "integer_range": {"uk": "ціле число від 0 до {upper}", "en": "an integer from 0 to {upper}"},
    "datetime_format": {
        "uk": "очікується момент або інтервал за RFC 3339",
        "en": "expected an RFC 3339 instant or interval",
    },
    "datetime_zone": {
        "uk": "дата й час потребують часового поясу (напр., Z)",
        "en": "a date-time needs a time zone (e.g. Z)",
    },
    "datetime_open_instant": {
        "uk": "момент часу не може бути відкритим",
        "en": "an instant cannot be open",
    },
    "datetime_interval": {
        "uk": "інтервал містить рівно одну «/»",
        "en": "an interval has exactly one '/'",
    },
    "not_valid_type": {"uk": "недійсне значення типу {type}", "en": "not a valid {type}"},
    "expected_boolean": {"uk": "очікується true або false", "en": "expected true or false"},
    "expected_integer": {"uk": "очікується ціле число", "en": "expected an integer"},
    "at_least": {"uk": "має бути не менше {minimum}", "en": "must be at least {minimum}"},
    "unknown_property": {"uk": "невідома властивість «{name}»", "en": "unknown property '{name}'"},
    "use_cql2": {"uk": "вкажіть cql2-text або cql2-json", "en": "use cql2-text or cql2-json"},
    "unsupported_crs": {
        "uk": "система координат не підтримується; див. перелік crs колекції",
        "en": "unsupported CRS; see the collection's crs list",
    },
    "filter_not_evaluable": {
        "uk": "вираз не вдається обчислити на цих даних",
        "en": "the expression cannot be evaluated on this data",
    },
    "cql_arithmetic": {"uk": "арифметика потребує чисел", "en": "arithmetic needs numbers"},
    "cql_expression": {"uk": "непідтримуваний вираз {kind}", "en": "unsupported expression {kind}"},
    "cql_casei": {"uk": "CASEI застосовується до тексту", "en": "CASEI applies to text"},
    "cql_bbox": {"uk": "BBOX потребує чисел", "en": "BBOX needs numbers"},
    "cql_function": {
        "uk": "непідтримувана функція «{name}»",
        "en": "unsupported function '{name}'",
    },
    "cql_geometry": {"uk": "недійсний літерал геометрії", "en": "invalid geometry literal"},
    "cql_in": {"uk": "IN потребує хоча б одного значення", "en": "IN needs at least one value"},
    "cql_spatial": {
        "uk": "просторові предикати порівнюють геометрії",
        "en": "spatial predicates compare geometries",
    },
    "cql_predicate": {
        "uk": "непідтримуваний предикат {kind}",
        "en": "unsupported predicate {kind}",
    },
    "cql_compare": {
        "uk": "геометрії та списки порівнюють власними функціями",
        "en": "geometries and lists are compared with their own functions",
    },
    "cql_like": {"uk": "LIKE застосовується до тексту", "en": "LIKE applies to text"},
    "cql_during": {
        "uk": "T_DURING порівнює дату з інтервалом",
        "en": "T_DURING compares a date property with an interval",
    },
    "cql_types": {
        "uk": "операнди різних типів: {kinds}",
        "en": "operands of different types: {kinds}",
    },
    "cql_json": {"uk": "недійсний JSON", "en": "not valid JSON"},
    "cql_malformed": {
        "uk": "хибно сформований вираз {language}",
        "en": "malformed {language} expression",
    },
    "cql_too_deep": {
        "uk": "вираз вкладено надто глибоко (найбільше {depth} рівнів)",
        "en": "the expression is nested too deeply (at most {depth} levels)",
    },
    # --- command line -----------------------------------------------------------------------
    "yes": {"uk": "так", "en": "yes"},
    "no": {"uk": "ні", "en": "no"},
    "error_word": {"uk": "помилка", "en": "error"},
    "layer_word": {"uk": "шар", "en": "layer"},
    "spec_problems": {
        "uk": "проблем: {count} у файлах: {files}",
        "en": "{count} problem(s) in {files} file(s)",
    },
    "specs_valid": {
        "uk": "визначень шарів: {count}, усі коректні",
        "en": "{count} layer definition(s) valid",
    },
    "external_nothing_to_start": {
        "uk": "задано DATABASE_URL: використовується зовнішня база, запускати нічого",
        "en": "DATABASE_URL is set: the external database is used, nothing to start.",
    },
    "external_not_managed": {
        "uk": "задано DATABASE_URL: зовнішньою базою тут не керують",
        "en": "DATABASE_URL is set: the external database is not managed here.",
    },
    "database_running": {
        "uk": "базу даних запущено на 127.0.0.1:{port} (`gisplatform db status` покаже URL "
        "лише для читання для QGIS)",
        "en": "database running on 127.0.0.1:{port} (`gisplatform db status` prints the "
        "read-only URL for QGIS)",
    },
    "database_stopped": {"uk": "вбудовану базу даних зупинено", "en": "embedded database stopped"},
    "database_up_to_date": {
        "uk": "база даних відповідає layers/",
        "en": "database is up to date with layers/",
    },
    "changes_planned": {
        "uk": "буде застосовано змін: {count}",
        "en": "would apply {count} change(s)",
    },
    "changes_applied": {"uk": "застосовано змін: {count}", "en": "applied {count} change(s)"},
    "status_database": {"uk": "база даних", "en": "database"},
    "status_external": {"uk": "зовнішня (DATABASE_URL)", "en": "external (DATABASE_URL)"},
    "status_embedded": {"uk": "вбудована", "en": "embedded"},
    "status_running": {"uk": "працює", "en": "running"},
    "status_data_dir": {"uk": "тека даних", "en": "data dir"},
    "status_version": {"uk": "версія", "en": "version"},
    "status_port": {"uk": "порт", "en": "port"},
    "status_read_only_url": {
        "uk": "URL лише для читання (QGIS, psql)",
        "en": "read-only url (QGIS, psql)",
    },
    "status_owner_url": {"uk": "URL власника", "en": "owner url"},
    "status_admin_url": {"uk": "URL адміністратора", "en": "admin url"},
    "status_db_login_url": {
        "uk": "URL входу працівника до бази (QGIS, users … --db-login)",
        "en": "staff database login url (QGIS, users … --db-login)",
    },
    "demo_external": {
        "uk": "DATABASE_URL вказує на зовнішню базу: demo заповнив би її вигаданими даними (а "
        "--reset видалив би справжні). Додайте --force, якщо це справді тестова база.",
        "en": "DATABASE_URL points at an external database: demo would fill it with made-up "
        "data (and --reset would delete real rows). Add --force if it really is a scratch "
        "database.",
    },
    "loading_demo": {"uk": "завантаження демо-даних…", "en": "loading the demo data…"},
    "loading_layer": {"uk": "завантаження шару {name}…", "en": "loading layer {name}…"},
    "col_layer": {"uk": "шар", "en": "layer"},
    "col_title": {"uk": "назва", "en": "title"},
    "col_access": {"uk": "доступ", "en": "access"},
    "col_rows": {"uk": "рядків", "en": "rows"},
    "col_this_run": {"uk": "цей запуск", "en": "this run"},
    "demo_title": {"uk": "{hromada} — демо-дані", "en": "{hromada} — demo data"},
    "demo_loaded": {"uk": "завантажено", "en": "loaded"},
    "demo_kept": {
        "uk": "лишено (дані вже були; --reset замінює)",
        "en": "kept (already had data; --reset replaces)",
    },
    "total_features": {"uk": "усього об'єктів: {count}", "en": "total features: {count}"},
    "map_written": {
        "uk": "записано {path} ({megabytes} МБ)",
        "en": "wrote {path} ({megabytes} MB)",
    },
    # --- backups and restore --------------------------------------------------------------
    "backup_no_pgbackrest": {
        "uk": "pgBackRest не встановлено: apt-get install pgbackrest (або scripts/bootstrap.sh), "
        "потім `gisplatform db stop` і `gisplatform db start`, щоб увімкнути архівування WAL",
        "en": "pgBackRest is not installed: apt-get install pgbackrest (or run "
        "scripts/bootstrap.sh), then `gisplatform db stop` and `gisplatform db start` to turn "
        "on WAL archiving",
    },
    "backup_bad_type": {
        "uk": "невідомий тип резервної копії {kind}: full, diff або incr",
        "en": "unknown backup type {kind}: full, diff or incr",
    },
    "backup_not_found_after": {
        "uk": "pgBackRest завершив роботу, але нової резервної копії в сховищі немає",
        "en": "pgBackRest finished but the repository holds no new backup",
    },
    "backup_external": {
        "uk": "з DATABASE_URL резервні копії робить pgBackRest на сервері бази даних (у "
        "docker-compose.yml — служба backup); див. README, розділ «Резервні копії»",
        "en": "with DATABASE_URL, pgBackRest on the database server takes the backups (the "
        "backup service in docker-compose.yml); see the README, section Backups",
    },
    "backup_taken": {
        "uk": "резервну копію {label} ({kind}) зроблено за {seconds} с: база {database}, "
        "у сховищі додалося {stored}",
        "en": "backup {label} ({kind}) taken in {seconds} s: database {database}, "
        "{stored} added to the repository",
    },
    "backups_none": {
        "uk": "у сховищі {repo} ще немає резервних копій: `gisplatform db backup`",
        "en": "the repository {repo} holds no backups yet: `gisplatform db backup`",
    },
    "backups_title": {"uk": "Резервні копії в {repo}", "en": "Backups in {repo}"},
    "col_backup": {"uk": "Копія", "en": "Backup"},
    "col_type": {"uk": "Тип", "en": "Type"},
    "col_finished": {"uk": "Завершено (UTC)", "en": "Finished (UTC)"},
    "col_seconds": {"uk": "Тривалість, с", "en": "Took, s"},
    "col_database_size": {"uk": "База", "en": "Database"},
    "col_stored": {"uk": "У сховищі", "en": "Stored"},
    "archive_state": {
        "uk": "останній сегмент WAL в архіві: {wal} о {at} ({ago} с тому); невдалих спроб: "
        "{failed}. RPO: не більше {timeout} с записів (archive_timeout)",
        "en": "last WAL segment archived: {wal} at {at} ({ago} s ago); failed attempts: "
        "{failed}. RPO: at most {timeout} s of writes (archive_timeout)",
    },
    "archive_nothing_yet": {
        "uk": "жодного сегмента WAL ще не заархівовано",
        "en": "no WAL segment archived yet",
    },
    "restore_bad_time": {
        "uk": "{value} — не момент часу (приклад: 2026-12-01T20:15:00+02:00)",
        "en": "{value} is not a moment in time (e.g. 2026-12-01T20:15:00+02:00)",
    },
    "restore_no_backups": {
        "uk": "немає резервної копії, з якої відновити: спершу `gisplatform db backup`",
        "en": "there is no backup to restore from: run `gisplatform db backup` first",
    },
    "restore_one_target": {
        "uk": "вкажіть або --to-time, або --to-backup, не обидва",
        "en": "give either --to-time or --to-backup, not both",
    },
    "restore_unknown_backup": {
        "uk": "у сховищі немає копії {label} (див. `gisplatform db backups`)",
        "en": "the repository holds no backup {label} (see `gisplatform db backups`)",
    },
    "restore_before_backups": {
        "uk": "цей момент раніший за найстарішу копію (завершено {first})",
        "en": "that moment is earlier than the oldest backup (finished {first})",
    },
    "restore_not_promoted": {
        "uk": "відновлений кластер не завершив відновлення; див. {log}",
        "en": "the restored cluster did not finish its recovery; see {log}",
    },
    "restore_running": {
        "uk": "база даних у {path} працює: відновлення замінить її дані; додайте --force, "
        "якщо саме цього ви хочете",
        "en": "the database in {path} is running and a restore replaces its data; add --force "
        "if that is what you want",
    },
    "restore_done": {
        "uk": "відновлено ({target}) з копії {label}",
        "en": "restored ({target}) from backup {label}",
    },
    "restore_rto": {
        "uk": "RTO цього відновлення: {total} с (pgBackRest {restore} с, запуск і повторення "
        "WAL {start} с)",
        "en": "RTO of this restore: {total} s (pgBackRest {restore} s, start and WAL replay "
        "{start} s)",
    },
    "restore_stop": {"uk": "PostgreSQL: {line}", "en": "PostgreSQL: {line}"},
    # --- server workers -------------------------------------------------------------------
    "workers_at_least_one": {
        "uk": "потрібен принаймні один робочий процес (--workers)",
        "en": "at least one worker is needed (--workers)",
    },
    "workers_over_budget": {
        "uk": "{workers} робочих процесів × пул {pool} = {total} з'єднань, а база дозволяє "
        "серверу {budget}: зменште --workers або GISPLATFORM_POOL_SIZE, або збільште "
        "max_connections (GISPLATFORM_DB_CONNECTION_BUDGET задає бюджет явно)",
        "en": "{workers} workers × a pool of {pool} = {total} connections, but the database "
        "allows the server {budget}: lower --workers or GISPLATFORM_POOL_SIZE, or raise "
        "max_connections (GISPLATFORM_DB_CONNECTION_BUDGET sets the budget explicitly)",
    },
    "serving_workers": {
        "uk": "робочих процесів: {workers}, пул кожного: {pool} з'єднань (бюджет {budget})",
        "en": "workers: {workers}, pool of each: {pool} connections (budget {budget})",
    },
    # --- replica --------------------------------------------------------------------------
    "replica_external": {
        "uk": "з DATABASE_URL репліку налаштовують на сервері бази даних; серверу платформи "
        "її адресу дає GISPLATFORM_REPLICA_URLS",
        "en": "with DATABASE_URL the replica is set up on the database server; give its URL "
        "to the platform's server in GISPLATFORM_REPLICA_URLS",
    },
    "replica_same_port": {
        "uk": "репліка не може працювати на порту основної бази ({port})",
        "en": "the replica cannot use the primary's port ({port})",
    },
    "replica_started": {
        "uk": "репліка працює на порту {port} і отримує WAL з основної бази",
        "en": "the replica runs on port {port}, streaming WAL from the primary",
    },
    "replica_stopped": {"uk": "репліку зупинено", "en": "replica stopped"},
    "replica_lag": {
        "uk": "відтворено до {replay} (основна: {primary}); відставання {lag_bytes} байт, "
        "{lag_seconds} с",
        "en": "replayed up to {replay} (primary: {primary}); behind by {lag_bytes} bytes, "
        "{lag_seconds} s",
    },
    "replica_api_url": {
        "uk": "для сервера (GISPLATFORM_REPLICA_URLS): {url}",
        "en": "for the server (GISPLATFORM_REPLICA_URLS): {url}",
    },
    # --- database -------------------------------------------------------------------------
    "cannot_create_roles": {
        "uk": "користувач DATABASE_URL не може створювати ролі (потрібен CREATEROLE): migrate "
        "створює ролі gisplatform_api, gisplatform_analyses і gisplatform_public",
        "en": "the DATABASE_URL user may not create roles (needs CREATEROLE); migrate creates "
        "the roles gisplatform_api, gisplatform_analyses and gisplatform_public",
    },
    "server_role_too_strong": {
        "uk": "сервер не читатиме базу як {user}: ця роль бачить більше, ніж подання аудиторій "
        "(потрібна роль API, див. gisplatform.store.roles)",
        "en": "the server refuses to read as {user}: that role can reach more than the "
        "audience views (use the API role, see gisplatform.store.roles)",
    },
    "api_role_cannot_log_in": {
        "uk": "роль {role} не може увійти: виконайте `gisplatform db migrate` (він створює роль "
        "і задає її пароль)",
        "en": "{role} cannot log in: run `gisplatform db migrate` (it creates the role and "
        "sets its password)",
    },
    "url_scheme": {
        "uk": "DATABASE_URL має починатися з postgresql:// (а не зі схеми {scheme})",
        "en": "DATABASE_URL must start with postgresql:// (got scheme {scheme})",
    },
    "embedded_not_running": {
        "uk": "вбудована база даних у {path} не працює; запустіть її: `gisplatform db start`",
        "en": "the embedded database in {path} is not running; start it with "
        "`gisplatform db start`",
    },
    "cannot_connect": {
        "uk": "не вдається з'єднатися з {url}: {reason}",
        "en": "cannot connect to {url}: {reason}",
    },
    "crashed_processes": {
        "uk": "процеси аварійно зупиненого вбудованого PostgreSQL ще працюють",
        "en": "processes of a crashed embedded PostgreSQL are still running",
    },
    # --- residents' reports: moderation and the truth loop (gisplatform.reports) ----------
    "report_mark_warning": {
        "uk": "є повідомлення: {answer}, {at}",
        "en": "reported: {answer}, {at}",
    },
    "moderation_sign_in": {
        "uk": "увійдіть, щоб опрацьовувати повідомлення мешканців",
        "en": "sign in to handle residents' reports",
    },
    "moderation_forbidden": {
        "uk": "ваші ролі не опрацьовують жодного виду повідомлень мешканців",
        "en": "your roles handle no kind of residents' report",
    },
    "moderation_not_found": {
        "uk": "немає повідомлення № {id} серед тих, що опрацьовують ваші ролі",
        "en": "there is no report No. {id} among those your roles handle",
    },
    "moderation_unknown_status": {
        "uk": "невідомий стан «{status}»; можливі: {known}",
        "en": "unknown status {status!r}; known: {known}",
    },
    "moderation_step_refused": {
        "uk": "повідомлення у стані «{from_status}» не можна перевести в «{to_status}»; "
        "можна: {allowed}",
        "en": "a report in state {from_status!r} cannot go to {to_status!r}; it can go to: "
        "{allowed}",
    },
    "moderation_reason_needed": {
        "uk": "вкажіть причину відхилення: її побачить автор повідомлення",
        "en": "give the reason for the rejection: the reporter reads it",
    },
    "moderation_reason_text": {
        "uk": "причина має бути текстом",
        "en": "the reason must be text",
    },
    "moderation_reason_long": {
        "uk": "причина довша за {limit} символів",
        "en": "the reason is longer than {limit} characters",
    },
    "moderation_duplicate_id": {
        "uk": "вкажіть номер повідомлення-оригіналу (ціле число)",
        "en": "give the number of the original report (an integer)",
    },
    "moderation_duplicate_needed": {
        "uk": "оберіть, дублікатом якого повідомлення є це",
        "en": "choose the report this one duplicates",
    },
    "moderation_duplicate_self": {
        "uk": "повідомлення не може бути дублікатом самого себе",
        "en": "a report cannot duplicate itself",
    },
    "moderation_duplicate_unknown": {
        "uk": "немає повідомлення № {id} того самого виду серед тих, що опрацьовують ваші ролі",
        "en": "there is no report No. {id} of the same kind among those your roles handle",
    },
    "moderation_duplicate_only": {
        "uk": "посилання на оригінал (duplicate_of) — лише для стану «duplicate»",
        "en": "a link to the original (duplicate_of) goes with the status 'duplicate' only",
    },
    "moderation_changed_meanwhile": {
        "uk": "повідомлення щойно змінив хтось інший; оновіть сторінку",
        "en": "someone else has just changed the report; reload the page",
    },
    # --- analyses (processes) -------------------------------------------------------------
    "input_invalid": {
        "uk": "недійсний вхід {name}: {message}",
        "en": "invalid input {name}: {message}",
    },
    "input_missing": {"uk": "обов'язковий", "en": "Field required"},
    "input_extra_forbidden": {"uk": "такого входу немає", "en": "Extra inputs are not permitted"},
    "input_less_than_equal": {"uk": "має бути не більше {le}", "en": "must be at most {le}"},
    "input_less_than": {"uk": "має бути менше {lt}", "en": "must be less than {lt}"},
    "input_greater_than_equal": {"uk": "має бути не менше {ge}", "en": "must be at least {ge}"},
    "input_greater_than": {"uk": "має бути більше {gt}", "en": "must be greater than {gt}"},
    "input_float_parsing": {"uk": "очікується число", "en": "a number is expected"},
    "input_float_type": {"uk": "очікується число", "en": "a number is expected"},
    "input_int_parsing": {"uk": "очікується ціле число", "en": "an integer is expected"},
    "input_int_type": {"uk": "очікується ціле число", "en": "an integer is expected"},
    "input_int_from_float": {"uk": "очікується ціле число", "en": "an integer is expected"},
    "input_bool_parsing": {"uk": "очікується true або false", "en": "true or false is expected"},
    "input_list_type": {"uk": "очікується список", "en": "a list is expected"},
    "input_dict_type": {"uk": "очікується об'єкт", "en": "an object is expected"},
    "input_too_short": {
        "uk": "потрібно щонайменше {min_length} значень",
        "en": "at least {min_length} values are needed",
    },
    "input_too_long": {
        "uk": "допустимо щонайбільше {max_length} значень",
        "en": "at most {max_length} values are allowed",
    },
    "input_not_for_anonymous": {
        "uk": "недійсний вхід {name}: недоступний анонімним користувачам",
        "en": "invalid input {name}: not available to anonymous callers",
    },
    "layer_not_for_anonymous": {
        "uk": "шар {layer} недоступний анонімним користувачам",
        "en": "layer {layer} is not available to anonymous callers",
    },
    "input_not_for_caller": {
        "uk": "недійсний вхід {name}: недоступний з вашими ролями",
        "en": "invalid input {name}: not available with your roles",
    },
    "layer_not_for_caller": {
        "uk": "шар {layer} недоступний з вашими ролями",
        "en": "layer {layer} is not available with your roles",
    },
    "analysis_deadline": {
        "uk": "аналіз тривав довше за {seconds} с",
        "en": "the analysis took longer than {seconds} s",
    },
    "analyses_busy": {
        "uk": "усі обчислювачі аналізів зайняті; повторіть пізніше",
        "en": "every analysis worker is busy; retry later",
    },
    "point_outside_hromada": {
        "uk": "точка лежить поза межею громади",
        "en": "the point lies outside the hromada boundary",
    },
    "geojson_point_expected": {
        "uk": "очікується GeoJSON Point, а не {kind}",
        "en": "a GeoJSON Point is expected, not {kind}",
    },
    "geojson_point_members": {
        "uk": "GeoJSON Point має лише члени type, coordinates і bbox",
        "en": "a GeoJSON Point has only type, coordinates and bbox members",
    },
    "geojson_point_coordinates": {
        "uk": "координати точки мають бути числами [довгота, широта]",
        "en": "Point coordinates must be [longitude, latitude] numbers",
    },
    "unknown_enum_input": {
        "uk": "невідоме значення {field} {value}; допустимі: {allowed}",
        "en": "unknown {field} value {value}; allowed: {allowed}",
    },
    "speed_positive": {
        "uk": "швидкість ходи має бути додатною",
        "en": "the walking speed must be positive",
    },
    "body_too_large": {
        "uk": "тіло запиту перевищує {limit} байтів",
        "en": "the request body exceeds {limit} bytes",
    },
    "body_not_json": {
        "uk": "тіло запиту не є коректним JSON",
        "en": "the request body is not valid JSON",
    },
    "body_not_object": {
        "uk": "тіло запиту має бути об'єктом JSON (запит на виконання)",
        "en": "the request body must be a JSON object (an execute request)",
    },
    "inputs_not_object": {
        "uk": "недійсний вхід inputs: очікується об'єкт зі значеннями входів",
        "en": "invalid input inputs: an object of input values is expected",
    },
    "subscriber_not_object": {
        "uk": "недійсний subscriber: очікується об'єкт",
        "en": "invalid subscriber: an object is expected",
    },
    "subscriber_refused": {
        "uk": "цей сервер не дозволяє зворотні виклики subscriber",
        "en": "subscriber callbacks are not allowed by this server",
    },
    "execute_needs_json": {
        "uk": "запит на виконання має бути application/json",
        "en": "an execute request must be application/json",
    },
    "not_for_this_audience": {
        "uk": "недоступне для цієї аудиторії",
        "en": "not available to this audience",
    },
    # --- OIDC sign-in (identity provider's access tokens) -----------------------------------
    "oidc_token_refused": {
        "uk": "токен доступу не прийнято: {reason}",
        "en": "access token refused: {reason}",
    },
    "oidc_reason_malformed": {"uk": "це не JWT", "en": "it is not a JWT"},
    "oidc_reason_algorithm": {
        "uk": "алгоритм підпису не дозволено",
        "en": "its signature algorithm is not allowed",
    },
    "oidc_reason_unknown_key": {
        "uk": "ключ підпису невідомий постачальнику ідентичності",
        "en": "its signing key is not one of the identity provider's",
    },
    "oidc_reason_signature": {"uk": "підпис невірний", "en": "its signature is wrong"},
    "oidc_reason_expired": {"uk": "строк дії минув", "en": "it has expired"},
    "oidc_reason_not_yet": {"uk": "ще не чинний", "en": "it is not valid yet"},
    "oidc_reason_audience": {
        "uk": "виданий не для цього сервісу (aud)",
        "en": "it was issued for another service (aud)",
    },
    "oidc_reason_issuer": {
        "uk": "виданий іншим постачальником (iss)",
        "en": "it was issued by another provider (iss)",
    },
    "oidc_reason_claims": {
        "uk": "бракує обов’язкових тверджень або вони хибні",
        "en": "required claims are missing or wrong",
    },
    "oidc_reason_no_login": {
        "uk": "не називає користувача",
        "en": "it names no user",
    },
    "oidc_reason_no_required_role": {
        "uk": "немає ролі, потрібної для входу",
        "en": "it lacks the role required to sign in",
    },
    "oidc_provider_unavailable": {
        "uk": "постачальник ідентичності недоступний; спробуйте пізніше",
        "en": "the identity provider cannot be reached; try again later",
    },
    "oidc_url_not_https": {
        "uk": "{url}: потрібна адреса https:// (http:// лише на loopback)",
        "en": "{url}: must be an https:// URL (http:// only on loopback)",
    },
    "oidc_algorithms_not_allowed": {
        "uk": "алгоритми не дозволено: {given}; можна лише {known}",
        "en": "algorithms not allowed: {given}; use {known}",
    },
    "oidc_bad_role_map": {
        "uk": "очікуються пари роль_постачальника=роль_реєстру через кому",
        "en": "expected provider_role=registry_role pairs, comma-separated",
    },
    "oidc_audience_required": {
        "uk": "GISPLATFORM_OIDC_AUDIENCE потрібна разом із GISPLATFORM_OIDC_ISSUER",
        "en": "GISPLATFORM_OIDC_AUDIENCE is required with GISPLATFORM_OIDC_ISSUER",
    },
    "oidc_not_configured": {
        "uk": "OIDC не налаштовано: задайте GISPLATFORM_OIDC_ISSUER і GISPLATFORM_OIDC_AUDIENCE",
        "en": "OIDC is not configured: set GISPLATFORM_OIDC_ISSUER and GISPLATFORM_OIDC_AUDIENCE",
    },
    "oidc_check_keys": {
        "uk": "постачальник {issuer}: ключі {kids}",
        "en": "provider {issuer}: keys {kids}",
    },
    "oidc_check_token": {
        "uk": "токен приймається: користувач {login}, ролі: {roles}",
        "en": "token accepted: user {login}, roles: {roles}",
    },
    "oidc_unknown_mapped_roles": {
        "uk": "GISPLATFORM_OIDC_ROLE_MAP називає ролі, яких немає в реєстрі: {roles} "
        "(відомі: {known})",
        "en": "GISPLATFORM_OIDC_ROLE_MAP names roles the registry does not have: {roles} "
        "(known: {known})",
    },
    # --- accounts and sign-in ---------------------------------------------------------------
    "bad_duration": {
        "uk": "«{value}» — не тривалість; напишіть, наприклад, 90d, 12h або 4w",
        "en": "{value!r} is not a duration; write e.g. 90d, 12h or 4w",
    },
    "unknown_roles": {
        "uk": "невідомі ролі: {roles} (ролі з layers/_roles.yaml: {known})",
        "en": "unknown roles: {roles} (the roles of layers/_roles.yaml: {known})",
    },
    "unknown_login": {"uk": "немає облікового запису {login}", "en": "there is no account {login}"},
    "bad_login": {
        "uk": "«{login}» не годиться як логін: малі латинські літери, цифри, . _ @ -, "
        "до 63 символів",
        "en": "{login!r} is not a valid login: lower-case letters, digits, . _ @ -, up to 63 "
        "characters",
    },
    "login_exists": {
        "uk": "обліковий запис {login} уже існує",
        "en": "the account {login} exists already",
    },
    "token_exists": {
        "uk": "у {login} уже є токен «{name}»",
        "en": "{login} has a token named {name!r} already",
    },
    "unknown_token": {
        "uk": "у {login} немає чинного токена «{name}»",
        "en": "{login} has no valid token named {name!r}",
    },
    "empty_password": {"uk": "порожній пароль", "en": "the password is empty"},
    "password_prompt": {"uk": "Пароль", "en": "Password"},
    "user_added": {
        "uk": "додано обліковий запис {login}, ролі: {roles}",
        "en": "added the account {login}, roles: {roles}",
    },
    "user_disabled": {
        "uk": "обліковий запис {login} вимкнено: вхід і його токени не діють",
        "en": "the account {login} is disabled: neither sign-in nor its tokens work",
    },
    "user_enabled": {
        "uk": "обліковий запис {login} увімкнено",
        "en": "the account {login} is enabled",
    },
    "roles_set": {"uk": "ролі {login}: {roles}", "en": "roles of {login}: {roles}"},
    "db_login_reserved": {
        "uk": "«{login}» не може бути користувачем бази даних: ця назва належить PostgreSQL, "
        "платформі або іншій ролі",
        "en": "{login!r} cannot be a database user: the name is PostgreSQL's, the platform's "
        "or another role's",
    },
    "no_db_login": {
        "uk": "у {login} немає входу до бази даних",
        "en": "{login} has no database login",
    },
    "db_login_enabled": {
        "uk": "{login} входить до бази даних як користувач {login} (QGIS: PostgreSQL, права — "
        "як у API)",
        "en": "{login} signs in to the database as the user {login} (QGIS: PostgreSQL, the "
        "same rights as in the API)",
    },
    "db_login_removed": {
        "uk": "вхід {login} до бази даних вилучено",
        "en": "the database login of {login} is removed",
    },
    "password_set": {"uk": "пароль {login} змінено", "en": "the password of {login} is changed"},
    "no_roles": {"uk": "(лише працівник)", "en": "(staff only)"},
    "no_accounts": {"uk": "облікових записів немає", "en": "there are no accounts"},
    "token_created": {
        "uk": "токен «{name}» для {login} (дійсний до {expires}); його показано лише раз, "
        "збережіть його зараз:",
        "en": "token {name!r} for {login} (valid until {expires}); it is shown this once, "
        "keep it now:",
    },
    "never": {"uk": "безстроково", "en": "no expiry"},
    "token_revoked": {
        "uk": "токен «{name}» користувача {login} відкликано",
        "en": "the token {name!r} of {login} is revoked",
    },
    "no_tokens": {"uk": "у {login} немає токенів", "en": "{login} has no tokens"},
    "sign_in_failed": {
        "uk": "невірний логін, пароль або токен",
        "en": "wrong login, password or token",
    },
    "too_many_sign_ins": {
        "uk": "забагато невдалих спроб входу; спробуйте за кілька хвилин",
        "en": "too many failed sign-ins; try again in a few minutes",
    },
    # --- publication kill switch --------------------------------------------------------
    "publish_unknown_layer": {
        "uk": "немає публічного шару «{layer}»; вилучити можна один із: {known}",
        "en": "there is no public layer {layer!r}; one of these can be withdrawn: {known}",
    },
    "publish_unknown_field": {
        "uk": "шар «{layer}» не має публічного поля «{field}»; публічні поля: {known}",
        "en": "the layer {layer!r} has no public field {field!r}; its public fields: {known}",
    },
    "publish_field_and_area": {
        "uk": "поле вилучається всюди: вкажіть або поле, або територію",
        "en": "a field is withdrawn everywhere: give either a field or an area",
    },
    "publish_reason_needed": {
        "uk": "вкажіть причину (--reason), напр. номер розпорядження",
        "en": "give a reason (--reason), e.g. the order's number",
    },
    "publish_reason_too_long": {
        "uk": "причина довша за {maximum} символів",
        "en": "the reason is longer than {maximum} characters",
    },
    "publish_area_not_polygon": {
        "uk": "територія має бути полігоном або мультиполігоном, а не {kind}",
        "en": "the area must be a polygon or multipolygon, not {kind}",
    },
    "publish_area_too_large": {
        "uk": "територія має понад {maximum} вершин",
        "en": "the area has more than {maximum} vertices",
    },
    "publish_area_not_lonlat": {
        "uk": "координати території мають бути довгота/широта (EPSG:4326)",
        "en": "the area's coordinates must be longitude/latitude (EPSG:4326)",
    },
    "publish_area_unreadable": {
        "uk": "не вдалося прочитати територію «{value}»: {reason}",
        "en": "cannot read the area {value!r}: {reason}",
    },
    "publish_area_unreadable_wkt": {
        "uk": "територія — не коректний WKT",
        "en": "the area is not valid WKT",
    },
    "publish_area_unreadable_geojson": {
        "uk": "територія — не коректна геометрія GeoJSON",
        "en": "the area is not a valid GeoJSON geometry",
    },
    "publish_layer_already": {
        "uk": "шар «{layer}» уже вилучено з публікації",
        "en": "the layer {layer!r} is already withdrawn",
    },
    "publish_field_already": {
        "uk": "поле «{field}» шару «{layer}» уже вилучено з публікації",
        "en": "the field {field!r} of {layer!r} is already withdrawn",
    },
    "publish_bad_value": {
        "uk": "«{name}» має бути текстом",
        "en": "{name!r} must be text",
    },
    "publish_nothing_to_restore": {
        "uk": "{what} не вилучено — нічого повертати",
        "en": "{what} is not withdrawn: nothing to restore",
    },
    "publish_nothing_to_restore_id": {
        "uk": "вилучення № {id} не чинне",
        "en": "withdrawal No {id} is not in force",
    },
    "publish_withdrawn": {
        "uk": "{what} вилучено з публікації (№ {id}); працівники бачать дані й далі",
        "en": "{what} is withdrawn from publication (No {id}); staff keep seeing it",
    },
    "publish_restored": {
        "uk": "{what} знову опубліковано",
        "en": "{what} is published again",
    },
    "publish_nothing_withdrawn": {
        "uk": "нічого не вилучено з публікації",
        "en": "nothing is withdrawn from publication",
    },
    "publish_area_word": {"uk": "територія", "en": "area"},
    "publication_not_migrated": {
        "uk": "у базі немає схеми публікації (вимикача); виконайте gisplatform db migrate",
        "en": "the database has no publication (kill switch) schema; run gisplatform db migrate",
    },
    "process_not_found": {"uk": "немає такого процесу", "en": "there is no such process"},
    "admin_sign_in": {
        "uk": "увійдіть обліковим записом адміністратора",
        "en": "sign in with an administrator's account",
    },
    "admin_only": {
        "uk": "лише для ролі «{role}»",
        "en": "only for the {role!r} role",
    },
    "admin_csrf": {
        "uk": "запит відхилено: форма застаріла або надіслана з іншого сайту; оновіть сторінку",
        "en": "request refused: the form is stale or came from another site; reload the page",
    },
    "sessions_ended": {
        "uk": "сеансів у браузерах завершено для {login}: {count}",
        "en": "browser sessions ended for {login}: {count}",
    },
    "csrf_failed": {
        "uk": "запит відхилено: немає або невірний захисний токен (CSRF) чи запит з іншого "
        "сайту; оновіть сторінку і спробуйте ще раз",
        "en": "request refused: the protection token (CSRF) is missing or wrong, or the request "
        "came from another site; reload the page and try again",
    },
    "sign_in_form_failed": {
        "uk": "Невірний логін або пароль",
        "en": "Wrong login or password",
    },
    "sign_in_fields": {
        "uk": "вкажіть логін і пароль",
        "en": "give a login and a password",
    },
    "cors_refused": {
        "uk": "запит з {origin} методом {method} не дозволено (CORS)",
        "en": "a {method} request from {origin} is not allowed (CORS)",
    },
    # --- reports: the public collection and the data-quality view ----------------------------
    "reports_collection_title": {
        "uk": "Повідомлення мешканців про проблеми",
        "en": "Residents' reports of problems",
    },
    "reports_collection_description": {
        "uk": "Перевірені модераторами повідомлення мешканців (зачинене укриття, темна вулиця "
        "тощо): вид, відповіді, стан і його причина, дати. Без контактів, тексту і фото "
        "мешканців.",
        "en": "Residents' reports checked by moderators (a locked shelter, a dark street …): "
        "kind, answers, status and its reason, dates. No contacts, texts or photos of residents.",
    },
    "reports_collection_owner": {"uk": "Виконавчий комітет", "en": "Executive committee"},
    "reports_field_kind": {"uk": "Вид повідомлення", "en": "Kind of report"},
    "reports_field_kind_title_uk": {"uk": "Вид (українською)", "en": "Kind (Ukrainian)"},
    "reports_field_kind_title_en": {"uk": "Вид (англійською)", "en": "Kind (English)"},
    "reports_field_answers": {"uk": "Відповіді (коди)", "en": "Answers (codes)"},
    "reports_field_answers_uk": {"uk": "Відповіді", "en": "Answers (Ukrainian)"},
    "reports_field_answers_en": {"uk": "Відповіді (англійською)", "en": "Answers"},
    "reports_field_status": {"uk": "Стан", "en": "Status"},
    "reports_field_status_reason": {"uk": "Причина стану", "en": "Reason for the status"},
    "reports_field_duplicate_of": {"uk": "Дублює повідомлення №", "en": "Duplicate of report"},
    "reports_field_reported_at": {"uk": "Надійшло", "en": "Received"},
    "reports_field_changed_at": {"uk": "Змінено", "en": "Last changed"},
    "reports_field_layer": {"uk": "Шар об’єкта", "en": "Layer of the feature"},
    "reports_field_feature_id": {"uk": "Об’єкт №", "en": "Feature ID"},
    "quality_title": {
        "uk": "Якість даних: об’єкти для перевірки",
        "en": "Data quality: features to check",
    },
    "quality_intro": {
        "uk": "Об’єкти шарів, про які мешканці можуть повідомляти: ніколи не перевірені на "
        "місці, з останнім обстеженням понад {days} дн. тому, або з {repeated} і більше "
        "повідомленнями за {days} дн.",
        "en": "Features of the layers residents report on: never verified on site, last "
        "inspected more than {days} days ago, or with {repeated} or more reports in {days} days.",
    },
    "quality_sign_in": {
        "uk": "сторінка якості даних лише для працівників: увійдіть",
        "en": "the data-quality page is for staff only: sign in",
    },
    "quality_never": {"uk": "ніколи не перевірено на місці", "en": "never verified on site"},
    "quality_stale": {
        "uk": "останнє обстеження {days} дн. тому",
        "en": "last inspected {days} days ago",
    },
    "quality_repeated": {
        "uk": "повідомлень за {days} дн.: {n}",
        "en": "{n} reports in {days} days",
    },
    "quality_col_feature": {"uk": "Об’єкт", "en": "Feature"},
    "quality_col_why": {"uk": "Чому в списку", "en": "Why listed"},
    "quality_col_inspected": {"uk": "Остання перевірка", "en": "Last inspection"},
    "quality_col_reports": {"uk": "Повідомлень", "en": "Reports"},
    "quality_none": {
        "uk": "Усе гаразд: немає об’єктів для перевірки.",
        "en": "All well: nothing to check.",
    },
    "quality_map_hint": {
        "uk": "назва об’єкта веде на його сторінку з картою",
        "en": "a feature's name leads to its page with a map",
    },
    "quality_no_inspection": {
        "uk": "шар не має поля дати обстеження: лише повторні повідомлення",
        "en": "the layer declares no inspection date: repeated reports only",
    },
}
