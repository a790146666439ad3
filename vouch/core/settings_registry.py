# ruff: noqa: RUF001  (Russian text)
"""
Every environment variable Vouch reads, with its default and its meaning in English and in
Russian: the one source of the configuration reference (`manage.py settings_reference`).
A test fails when `config/settings.py` reads a variable that has no entry here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

LANGUAGES = ("en", "ru")


@dataclass(frozen=True)
class Variable:
    """One row of the reference: one variable, or a few that share their meaning."""

    names: tuple[str, ...]
    default: tuple[str, str]  # Markdown, (English, Russian)
    meaning: tuple[str, str]  # Markdown, (English, Russian)

    def __init__(self, *names: str, default: tuple[str, str], meaning: tuple[str, str]) -> None:
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "meaning", meaning)


@dataclass(frozen=True)
class Section:
    key: str
    title_en: str
    title_ru: str
    variables: tuple[Variable, ...]

    def title(self, language: str) -> str:
        return self.title_ru if language == "ru" else self.title_en


SECTIONS: tuple[Section, ...] = (
    Section(
        "core",
        "Core",
        "Основные",
        (
            Variable(
                "DEBUG",
                default=(
                    "`false` (`true` under `make run`)",
                    "`false` (`true` под `make run`)",
                ),
                meaning=(
                    "Development mode. Never on in production.",
                    "Режим разработки. В бою не включать.",
                ),
            ),
            Variable(
                "SECRET_KEY",
                default=(
                    "a fixed development key when `DEBUG` is on; required otherwise",
                    ("фиксированный ключ для разработки при включённом `DEBUG`; иначе обязателен"),
                ),
                meaning=(
                    "Django's signing key; also keys the HMAC of stored codes.",
                    "Ключ подписи Django; им же подписывается HMAC хранимых кодов.",
                ),
            ),
            Variable(
                "SECRET_KEY_FALLBACKS",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "Previous `SECRET_KEY` values, for rotation: codes already sent and "
                        "sessions (web pages and admin) stay valid. Remove them once they have "
                        "aged out."
                    ),
                    (
                        "Прежние значения `SECRET_KEY` на время смены ключа: уже отправленные "
                        "коды и сессии (веб-страниц и админки) остаются действительными. Уберите"
                        " их, когда они устареют."
                    ),
                ),
            ),
            Variable(
                "JWT_SIGNING_KEY",
                default=(
                    "derived from `SECRET_KEY` when `DEBUG` is on; required otherwise",
                    "выводится из `SECRET_KEY` при включённом `DEBUG`; иначе обязателен",
                ),
                meaning=(
                    (
                        "HS256 key for API tokens, at least 32 bytes (shorter: the error "
                        "`vouch.E030`): it signs them when no private key is configured. Beside "
                        "a private key it only verifies the tokens it signed before (the move "
                        "to ES256); remove it afterwards. Changing it invalidates its tokens."
                    ),
                    (
                        "Ключ HS256 для токенов API, не меньше 32 байт (короче — ошибка "
                        "`vouch.E030`): подписывает их, когда закрытый ключ не задан. Рядом с "
                        "закрытым ключом он лишь проверяет подписанные им раньше токены (переход "
                        "на ES256); потом уберите его. Смена ключа делает его токены "
                        "недействительными."
                    ),
                ),
            ),
            Variable(
                "JWT_ALGORITHM",
                default=(
                    "`ES256` with a private key, `HS256` without",
                    "`ES256` с закрытым ключом, `HS256` без него",
                ),
                meaning=(
                    (
                        "How API tokens are signed: `ES256` (P-256) or `RS256` with the "
                        "private key, `HS256` with `JWT_SIGNING_KEY`. It must match the key "
                        "(`vouch.E031`, `vouch.E033`)."
                    ),
                    (
                        "Чем подписываются токены API: `ES256` (P-256) или `RS256` — закрытым "
                        "ключом, `HS256` — `JWT_SIGNING_KEY`. Должен подходить к ключу "
                        "(`vouch.E031`, `vouch.E033`)."
                    ),
                ),
            ),
            Variable(
                "JWT_PRIVATE_KEY_FILE",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "The PEM file of the private key that signs API tokens (`manage.py "
                        "jwt_keygen` makes one), outside the project directory (`vouch.E035`)"
                        "; its public key is served at `/.well-known/jwks.json`. Unreadable, "
                        "invalid or weak (RSA under 2048 bits, EC not P-256): `vouch.E032`, "
                        "`vouch.E034`."
                    ),
                    (
                        "PEM-файл закрытого ключа, которым подписываются токены API (его "
                        "создаёт `manage.py jwt_keygen`), вне каталога проекта (`vouch.E035`); "
                        "открытый ключ отдаётся на `/.well-known/jwks.json`. Нечитаемый, "
                        "неверный или слабый (RSA короче 2048 бит, EC не P-256): `vouch.E032`, "
                        "`vouch.E034`."
                    ),
                ),
            ),
            Variable(
                "JWT_PRIVATE_KEY",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "The same private key as PEM text in the environment (line breaks as "
                        "`\\n` allowed), instead of `JWT_PRIVATE_KEY_FILE`."
                    ),
                    (
                        "Тот же закрытый ключ текстом PEM в окружении (переводы строк можно "
                        "записать как `\\n`) вместо `JWT_PRIVATE_KEY_FILE`."
                    ),
                ),
            ),
            Variable(
                "JWT_PREVIOUS_PUBLIC_KEYS_FILE",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "A PEM file of public keys (one after another) whose tokens still "
                        "verify during a key rotation; they stay in the JWKS. Remove a key to "
                        "refuse its tokens (`vouch.E036` when unreadable)."
                    ),
                    (
                        "PEM-файл открытых ключей (один за другим), чьи токены ещё проверяются "
                        "во время смены ключа; они остаются в JWKS. Уберите ключ — и его "
                        "токены перестанут приниматься (`vouch.E036`, если файл не читается)."
                    ),
                ),
            ),
            Variable(
                "JWT_ISSUER",
                default=(
                    "the value of `SITE_URL`",
                    "значение `SITE_URL`",
                ),
                meaning=(
                    "The `iss` claim of API tokens, checked when they are verified.",
                    "Claim `iss` токенов API, проверяется при их проверке.",
                ),
            ),
            Variable(
                "JWT_AUDIENCE",
                default=(
                    "`vouch`",
                    "`vouch`",
                ),
                meaning=(
                    "The `aud` claim of API tokens, checked when they are verified.",
                    "Claim `aud` токенов API, проверяется при их проверке.",
                ),
            ),
            Variable(
                "ALLOWED_HOSTS",
                default=(
                    "`localhost,127.0.0.1`",
                    "`localhost,127.0.0.1`",
                ),
                meaning=(
                    "Host names the server answers to.",
                    "Имена хостов, на которые отвечает сервер.",
                ),
            ),
            Variable(
                "CSRF_TRUSTED_ORIGINS",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "Extra origins (`https://admin.example.com`) allowed to send unsafe "
                        "requests with a session, e.g. when the admin is reached through another"
                        " host name."
                    ),
                    (
                        "Дополнительные источники (`https://admin.example.com`), которым можно "
                        "слать изменяющие запросы с сессией, например если админка открывается "
                        "через другое имя хоста."
                    ),
                ),
            ),
            Variable(
                "SITE_URL",
                default=(
                    "`http://localhost:8000`",
                    "`http://localhost:8000`",
                ),
                meaning=(
                    (
                        "Public base URL: the base of `invite_link` (and of the invite link and "
                        "QR code on the profile page) and the host in the WebOTP line of "
                        "messages (`@host #code`)."
                    ),
                    (
                        "Публичный базовый адрес: основа `invite_link` (и инвайт-ссылки с "
                        "QR-кодом на странице профиля) и хост в строке WebOTP в сообщениях "
                        "(`@host #code`)."
                    ),
                ),
            ),
            Variable(
                "LOG_LEVEL",
                default=(
                    "`INFO`",
                    "`INFO`",
                ),
                meaning=(
                    (
                        "Level of the root logger; logs go to stderr. Phone numbers in logs are "
                        "masked."
                    ),
                    (
                        "Уровень корневого логгера; журнал пишется в stderr. Номера телефонов в "
                        "журнале замаскированы."
                    ),
                ),
            ),
        ),
    ),
    Section(
        "site",
        "Web pages",
        "Веб-страницы",
        (
            Variable(
                "SITE_NAME",
                default=("`Vouch`", "`Vouch`"),
                meaning=(
                    (
                        "The product name on every page, in the page titles, the admin and "
                        "the error pages."
                    ),
                    (
                        "Название продукта на каждой странице, в заголовках страниц, в админке"
                        " и на страницах ошибок."
                    ),
                ),
            ),
            Variable(
                "SITE_LOGO_URL",
                default=("empty (the built-in mark)", "пусто (встроенный знак)"),
                meaning=(
                    (
                        "Address of the logo image in the header, e.g. `/static/logo.svg` or "
                        "`https://cdn.example.com/logo.svg`; the origin of an absolute address "
                        "is added to the pages' `img-src`."
                    ),
                    (
                        "Адрес картинки логотипа в шапке, например `/static/logo.svg` или "
                        "`https://cdn.example.com/logo.svg`; источник абсолютного адреса "
                        "добавляется в `img-src` страниц."
                    ),
                ),
            ),
            Variable(
                "SITE_PRIVACY_URL",
                "SITE_TERMS_URL",
                "SITE_SUPPORT_URL",
                default=("empty (no link)", "пусто (ссылки нет)"),
                meaning=(
                    (
                        "The footer's privacy policy, terms of use and support links (an "
                        "`https://` address or `mailto:`); the first two also appear in the "
                        "consent line under the phone field."
                    ),
                    (
                        "Ссылки в подвале: политика конфиденциальности, условия использования "
                        "и поддержка (адрес `https://` или `mailto:`); первые две также "
                        "стоят в строке согласия под полем телефона."
                    ),
                ),
            ),
        ),
    ),
    Section(
        "storage",
        "Storage",
        "Хранилища",
        (
            Variable(
                "DATABASE_URL",
                default=(
                    "`sqlite:///<project>/db.sqlite3`",
                    "`sqlite:///<проект>/db.sqlite3`",
                ),
                meaning=(
                    (
                        "Database, e.g. `postgres://vouch:password@127.0.0.1:5432/vouch`. Use "
                        "PostgreSQL in production. SQLite runs in WAL mode with IMMEDIATE "
                        "transactions."
                    ),
                    (
                        "База данных, например `postgres://vouch:password@127.0.0.1:5432/vouch`."
                        " В бою — PostgreSQL. SQLite работает в режиме WAL с транзакциями "
                        "IMMEDIATE."
                    ),
                ),
            ),
            Variable(
                "DATABASE_CONN_MAX_AGE",
                default=(
                    "`60`",
                    "`60`",
                ),
                meaning=(
                    (
                        "Seconds a database connection is kept open (not SQLite); connections "
                        "are health-checked before reuse."
                    ),
                    (
                        "Сколько секунд держать соединение с базой (кроме SQLite); перед "
                        "повторным использованием соединение проверяется."
                    ),
                ),
            ),
            Variable(
                "DATABASE_CONNECT_TIMEOUT",
                default=(
                    "`3`",
                    "`3`",
                ),
                meaning=(
                    (
                        "Seconds to wait for a PostgreSQL connection: an unreachable database "
                        "fails a request with 503 in seconds instead of holding a worker until "
                        "gunicorn's timeout."
                    ),
                    (
                        "Сколько секунд ждать соединения с PostgreSQL: недоступная база отвечает"
                        " на запрос 503 за секунды, а не держит воркер до таймаута gunicorn."
                    ),
                ),
            ),
            Variable(
                "REDIS_URL",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "When set (`redis://127.0.0.1:6379/0`), both the rate-limit counters "
                        "([Limits](security.md#limits)) and Django's cache move to Redis; with "
                        "`TASKS_BACKEND=rq` the task queue is there too (required then). "
                        "Otherwise the counters stay in the database and the cache is a "
                        "per-process memory cache. While it is set, Redis must answer: without "
                        "it sign-in requests fail with 503 `service_unavailable` instead of "
                        "going unlimited."
                    ),
                    (
                        "Если задан (`redis://127.0.0.1:6379/0`), в Redis переезжают и счётчики "
                        "ограничений ([Ограничения](security.md#ограничения)), и кэш Django; при "
                        "`TASKS_BACKEND=rq` там же очередь задач (тогда он обязателен). Иначе "
                        "счётчики остаются в базе данных, а кэш — в памяти каждого процесса. "
                        "Пока он задан, Redis должен отвечать: без него запросы входа получают "
                        "503 `service_unavailable`, а не проходят без ограничений."
                    ),
                ),
            ),
            Variable(
                "REDIS_SOCKET_TIMEOUT",
                default=(
                    "`1.0`",
                    "`1.0`",
                ),
                meaning=(
                    (
                        "Seconds to connect to Redis and to wait for its answer (the cache and "
                        "the limiter)."
                    ),
                    ("Сколько секунд ждать соединения с Redis и его ответа (кэш и ограничитель)."),
                ),
            ),
            Variable(
                "CACHE_KEY_PREFIX",
                default=(
                    "`vouch`",
                    "`vouch`",
                ),
                meaning=(
                    (
                        "Prefix of the cache keys and the rate-limit keys (`<prefix>:limit:*`) "
                        "in Redis (only with `REDIS_URL`): deployments that share one Redis "
                        "server keep their caches and limits apart by giving each its own "
                        "prefix."
                    ),
                    (
                        "Префикс ключей кэша и ключей ограничений (`<префикс>:limit:*`) в Redis "
                        "(только с `REDIS_URL`): установки, которые делят один сервер Redis, "
                        "разводят кэши и лимиты, задав каждой свой префикс."
                    ),
                ),
            ),
        ),
    ),
    Section(
        "codes",
        "Sign-in codes",
        "Коды входа",
        (
            Variable(
                "PHONE_DEFAULT_REGION",
                default=(
                    "`RU`",
                    "`RU`",
                ),
                meaning=(
                    "Region assumed for numbers written without a country code.",
                    "Регион для номеров, записанных без кода страны.",
                ),
            ),
            Variable(
                "OTP_CHANNELS",
                default=(
                    "`sms,email`",
                    "`sms,email`",
                ),
                meaning=(
                    (
                        "Channels a client may ask for; only `sms` and `email` exist (others: "
                        "the error `vouch.E011`). `sms` alone switches e-mail codes off."
                    ),
                    (
                        "Каналы, которые может запросить клиент; есть только `sms` и `email` "
                        "(другие — ошибка `vouch.E011`). Значение `sms` отключает коды по "
                        "e-mail."
                    ),
                ),
            ),
            Variable(
                "OTP_DEFAULT_CHANNEL",
                default=(
                    "`sms`",
                    "`sms`",
                ),
                meaning=(
                    (
                        "Channel used when step 1 names none; must be in `OTP_CHANNELS` (else "
                        "the error `vouch.E012`)."
                    ),
                    (
                        "Канал, если на шаге 1 он не указан; должен входить в `OTP_CHANNELS` "
                        "(иначе ошибка `vouch.E012`)."
                    ),
                ),
            ),
            Variable(
                "OTP_EMAIL_SIGNUP",
                default=(
                    "`false`",
                    "`false`",
                ),
                meaning=(
                    (
                        "`true`: a code by e-mail may create the account of a phone that has "
                        "none (the original system's behaviour). Risky: whoever reads that "
                        "mailbox gets an account for a phone that is not theirs, until the "
                        "phone's owner signs in by SMS and takes it back (see [Who owns an "
                        "account](security.md#who-owns-an-account)). Off, the e-mail channel signs "
                        "in only "
                        "to an account that has that address, verified."
                    ),
                    (
                        "`true`: код по e-mail может создать аккаунт для номера, у которого его "
                        "ещё нет (поведение исходной системы). Это риск: кто читает этот ящик, "
                        "получает аккаунт чужого номера, пока владелец номера не войдёт по SMS и"
                        " не заберёт его (см. [Кому принадлежит "
                        "аккаунт](security.md#кому-принадлежит-аккаунт)). Выключено: канал e-mail "
                        "входит "
                        "только в аккаунт, у которого этот адрес подтверждён."
                    ),
                ),
            ),
            Variable(
                "OTP_CODE_LENGTH",
                default=(
                    "`6`",
                    "`6`",
                ),
                meaning=(
                    (
                        "Digits per code, 4 to 10 (others: the error `vouch.E010`). Fewer than 6"
                        " weakens the guessing bound: with the default limits 4 and 5 raise the "
                        "warning `vouch.W001`."
                    ),
                    (
                        "Цифр в коде, от 4 до 10 (другие — ошибка `vouch.E010`). Меньше 6 — "
                        "слабее оценка подбора: при ограничениях по умолчанию 4 и 5 вызывают "
                        "предупреждение `vouch.W001`."
                    ),
                ),
            ),
            Variable(
                "OTP_TTL",
                default=(
                    "`300`",
                    "`300`",
                ),
                meaning=(
                    "Seconds a code is valid.",
                    "Сколько секунд действует код.",
                ),
            ),
            Variable(
                "OTP_MAX_ATTEMPTS",
                default=(
                    "`5`",
                    "`5`",
                ),
                meaning=(
                    "Tries per code; after that the code is dead.",
                    "Попыток на один код; после них код мёртв.",
                ),
            ),
            Variable(
                "OTP_RESEND_COOLDOWN",
                default=(
                    "`60`",
                    "`60`",
                ),
                meaning=(
                    "Seconds between two codes for one phone (any channel).",
                    "Секунд между двумя кодами для одного номера (по любому каналу).",
                ),
            ),
            Variable(
                "OTP_SENDS_PER_PHONE_HOUR",
                default=(
                    "`5`",
                    "`5`",
                ),
                meaning=(
                    "Codes sent to one phone per hour (any channel).",
                    "Кодов на один номер в час (по любому каналу).",
                ),
            ),
            Variable(
                "OTP_SENDS_PER_IP_HOUR",
                default=(
                    "`20`",
                    "`20`",
                ),
                meaning=(
                    ("Codes asked for from one client IP per hour (see `TRUSTED_PROXY_COUNT`)."),
                    "Запросов кода с одного IP клиента в час (см. `TRUSTED_PROXY_COUNT`).",
                ),
            ),
            Variable(
                "OTP_SENDS_GLOBAL_HOUR",
                default=(
                    "`1000`",
                    "`1000`",
                ),
                meaning=(
                    (
                        "Codes sent in total per hour, all phones and channels: the budget "
                        "against SMS pumping. `0` switches it off."
                    ),
                    (
                        "Всего кодов в час, по всем номерам и каналам: бюджет против "
                        "SMS-накрутки (SMS pumping). `0` отключает."
                    ),
                ),
            ),
            Variable(
                "OTP_FAILURES_PER_PHONE_DAY",
                default=(
                    "`20`",
                    "`20`",
                ),
                meaning=(
                    (
                        "Wrong codes per phone per day, across codes. At the cap the phone is "
                        "locked for step 2, and step 1 refuses it too, until the day window "
                        "passes. Holds even when lower than `OTP_MAX_ATTEMPTS`."
                    ),
                    (
                        "Неверных кодов на номер в сутки, по всем кодам вместе. Когда лимит "
                        "исчерпан, номер заблокирован для шага 2, и шаг 1 ему тоже отказывает, "
                        "пока не закончится суточное окно. Действует, даже если он меньше "
                        "`OTP_MAX_ATTEMPTS`."
                    ),
                ),
            ),
            Variable(
                "OTP_VERIFIES_PER_IP_HOUR",
                default=(
                    "`100`",
                    "`100`",
                ),
                meaning=(
                    "Step 2 requests from one client IP per hour, right code or wrong.",
                    "Запросов шага 2 с одного IP клиента в час, с верным кодом или нет.",
                ),
            ),
            Variable(
                "OTP_IPV6_PREFIX",
                default=(
                    "`64`",
                    "`64`",
                ),
                meaning=(
                    (
                        "Per-IP limits count an IPv6 client by this many leading bits of its "
                        "address (its /64 network by default), so one host cannot draw a fresh "
                        "allowance from each of its addresses. IPv4 addresses count one by one; "
                        "the audit trail keeps the full address. 1 to 128 (others: the error "
                        "`vouch.E024`)."
                    ),
                    (
                        "Лимиты на IP считают клиента IPv6 по стольким первым битам адреса (по "
                        "умолчанию его сеть /64), чтобы один хост не получал новую квоту с "
                        "каждого своего адреса. Адреса IPv4 считаются по одному; журнал аудита "
                        "хранит полный адрес. От 1 до 128 (другие — ошибка `vouch.E024`)."
                    ),
                ),
            ),
            Variable(
                "OTP_ALLOWED_REGIONS",
                default=(
                    "empty (all)",
                    "пусто (все)",
                ),
                meaning=(
                    (
                        "Countries codes may be sent to, as ISO codes: `RU,KZ,BY`. The region is"
                        " libphonenumber's, so `+7 701…` is `KZ`, not `RU`."
                    ),
                    (
                        "Страны, куда можно отправлять коды, ISO-кодами: `RU,KZ,BY`. Страну "
                        "определяет libphonenumber, поэтому `+7 701…` — это `KZ`, а не `RU`."
                    ),
                ),
            ),
            Variable(
                "OTP_TEST_NUMBERS",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "`+79990000001:123456,+79990000002:654321`: fixed codes for these "
                        "numbers; nothing is sent to them. For demos and automated tests. Anyone"
                        " who knows the pair can sign in as that number: never list real users' "
                        "numbers."
                    ),
                    (
                        "`+79990000001:123456,+79990000002:654321`: постоянные коды для этих "
                        "номеров; на них ничего не отправляется. Для демонстраций и автотестов. "
                        "Кто знает пару, войдёт под этим номером: никогда не указывайте номера "
                        "настоящих пользователей."
                    ),
                ),
            ),
            Variable(
                "REFERRALS_PAGE_SIZE",
                default=(
                    "`20`",
                    "`20`",
                ),
                meaning=(
                    (
                        "Referrals shown in a profile, and the default page size of the "
                        "referrals list."
                    ),
                    (
                        "Сколько приглашённых показывать в профиле и размер страницы списка "
                        "приглашённых по умолчанию."
                    ),
                ),
            ),
            Variable(
                "REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR",
                default=(
                    "`10`",
                    "`10`",
                ),
                meaning=(
                    (
                        "Failed invite-code activations (`invite_not_found`, `own_invite_code`, "
                        "`invite_cycle`) per user per hour; then activation answers 429 "
                        "`throttled` until the hour's window ends."
                    ),
                    (
                        "Неудачных активаций инвайт-кода (`invite_not_found`, `own_invite_code`,"
                        " `invite_cycle`) на пользователя в час; дальше активация отвечает 429 "
                        "`throttled`, пока не закончится часовое окно."
                    ),
                ),
            ),
            Variable(
                "REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR",
                default=(
                    "`30`",
                    "`30`",
                ),
                meaning=(
                    "The same failures per client IP per hour, all users together.",
                    "Те же неудачи с одного IP клиента в час, все пользователи вместе.",
                ),
            ),
            Variable(
                "REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR",
                default=(
                    "`30`",
                    "`30`",
                ),
                meaning=(
                    (
                        "Invite links (`/join/<code>`) with unknown codes opened from one client"
                        " IP per hour; then every invite link answers the 429 page for that IP "
                        "until the window ends."
                    ),
                    (
                        "Инвайт-ссылок (`/join/<code>`) с несуществующими кодами, открытых с "
                        "одного IP клиента в час; дальше любая инвайт-ссылка отвечает этому IP "
                        "страницей 429, пока не закончится окно."
                    ),
                ),
            ),
            Variable(
                "REFERRALS_FLAG_NETWORK_REFERRALS",
                "REFERRALS_FLAG_NETWORK_HOURS",
                default=(
                    "`3`, `24`",
                    "`3`, `24`",
                ),
                meaning=(
                    (
                        "Suspicious referrals, rule `same_network`: this many referrals of one "
                        "inviter from one client network (IPv4 /24, IPv6 /48) within this many "
                        "hours flag the one that reaches the count and every later one. The "
                        "hours are also how long a referral keeps its network digest. `0` in "
                        "either switches the rule off."
                    ),
                    (
                        "Подозрительные приглашения, правило `same_network`: столько приглашённых"
                        " одного пригласившего из одной сети клиента (IPv4 /24, IPv6 /48) за "
                        "столько часов помечают того, на ком счёт достигнут, и всех следующих. "
                        "Столько же часов приглашение хранит хеш сети. `0` в любой из двух "
                        "выключает правило."
                    ),
                ),
            ),
            Variable(
                "REFERRALS_FLAG_BURST_REFERRALS",
                "REFERRALS_FLAG_BURST_MINUTES",
                default=(
                    "`10`, `10`",
                    "`10`, `10`",
                ),
                meaning=(
                    (
                        "Rule `burst`: this many activations of one inviter's code within this "
                        "many minutes flag the one that reaches the count and every later one. "
                        "`0` in either switches the rule off."
                    ),
                    (
                        "Правило `burst`: столько активаций кода одного пригласившего за столько"
                        " минут помечают ту, на которой счёт достигнут, и все следующие. `0` в "
                        "любой из двух выключает правило."
                    ),
                ),
            ),
            Variable(
                "REFERRALS_FLAG_PHONE_RANGE_DIGITS",
                default=(
                    "`2`",
                    "`2`",
                ),
                meaning=(
                    (
                        "Rule `phone_range`: an invitee whose phone number equals the inviter's "
                        "but for this many last digits is flagged. `0` switches the rule off."
                    ),
                    (
                        "Правило `phone_range`: приглашённый, чей номер совпадает с номером "
                        "пригласившего везде, кроме стольких последних цифр, помечается. `0` "
                        "выключает правило."
                    ),
                ),
            ),
            Variable(
                "REFERRALS_FLAG_CHAIN_LINKS",
                "REFERRALS_FLAG_CHAIN_HOURS",
                default=(
                    "`5`, `24`",
                    "`5`, `24`",
                ),
                meaning=(
                    (
                        "Rule `fast_chain`: an activation that ends a chain of this many "
                        "activations (its own, its inviter's, the inviter's inviter's, and so "
                        "on) all made within this many hours is flagged. `0` in either switches "
                        "the rule off."
                    ),
                    (
                        "Правило `fast_chain`: активация, которая замыкает цепочку из стольких "
                        "активаций (её самой, её пригласившего, его пригласившего и так далее), "
                        "сделанных за столько часов, помечается. `0` в любой из двух выключает "
                        "правило."
                    ),
                ),
            ),
            Variable(
                "ADMIN_LOGIN_FAILURES_PER_ACCOUNT",
                default=(
                    "`5`",
                    "`5`",
                ),
                meaning=(
                    (
                        "Wrong passwords at `/admin/login/` for one account (the phone entered) "
                        "within `ADMIN_LOGIN_LOCKOUT`; then that account's admin login refuses "
                        "every password, the right one too, with the 429 page."
                    ),
                    (
                        "Неверных паролей на `/admin/login/` для одного аккаунта (введённого "
                        "телефона) за `ADMIN_LOGIN_LOCKOUT`; дальше вход в админку для этого "
                        "аккаунта отклоняет любой пароль, даже верный, страницей 429."
                    ),
                ),
            ),
            Variable(
                "ADMIN_LOGIN_FAILURES_PER_IP",
                default=(
                    "`20`",
                    "`20`",
                ),
                meaning=(
                    (
                        "Wrong admin passwords from one client IP within `ADMIN_LOGIN_LOCKOUT`, "
                        "all accounts together; then that IP is refused the same way."
                    ),
                    (
                        "Неверных паролей админки с одного IP клиента за `ADMIN_LOGIN_LOCKOUT`, "
                        "все аккаунты вместе; дальше этот IP получает такой же отказ."
                    ),
                ),
            ),
            Variable(
                "ADMIN_LOGIN_LOCKOUT",
                default=(
                    "`900`",
                    "`900`",
                ),
                meaning=(
                    "Seconds of the admin login's failure window, and so of its lockout.",
                    ("Длина окна неудачных входов в админку в секундах, а значит, и блокировки."),
                ),
            ),
        ),
    ),
    Section(
        "logs",
        "Logs and metrics",
        "Журналы и метрики",
        (
            Variable(
                "LOG_FORMAT",
                default=(
                    "`text`",
                    "`text`",
                ),
                meaning=(
                    (
                        "`json` in production: one JSON object a line (`time`, `level`, "
                        "`logger`, `message`, `request_id`, extra fields). Phones are masked, "
                        "codes and tokens never logged. Anything but `text` or `json`: the error"
                        " `vouch.E022` (lines stay text)."
                    ),
                    (
                        "В продакшене `json`: по объекту JSON на строку (`time`, `level`, "
                        "`logger`, `message`, `request_id`, дополнительные поля). Телефоны "
                        "маскируются, коды и токены не пишутся никогда. Любое значение, кроме "
                        "`text` и `json`, — ошибка `vouch.E022` (строки остаются текстом)."
                    ),
                ),
            ),
            Variable(
                "METRICS_TOKEN",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "A secret of at least 32 characters (shorter: the error `vouch.E023`) "
                        "that opens `GET /metrics` with `Authorization: Bearer <token>` "
                        "(Prometheus). Empty: only staff users (session or JWT) may read it; "
                        "anyone else gets 404."
                    ),
                    (
                        "Секрет не короче 32 символов (короче — ошибка `vouch.E023`), "
                        "открывающий `GET /metrics` с заголовком `Authorization: Bearer <токен>`"
                        " (для Prometheus). Пусто — читать могут только сотрудники (сессия или "
                        "JWT); остальным 404."
                    ),
                ),
            ),
            Variable(
                "PROMETHEUS_MULTIPROC_DIR",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "A directory where every gunicorn worker writes its metrics, so that "
                        "`/metrics` shows the sum over workers. Required with more than one "
                        "worker; `config/gunicorn.py` empties it at start (`make serve` uses "
                        "`.run/prometheus`, the systemd unit `/run/vouch-web/metrics`)."
                    ),
                    (
                        "Каталог, куда каждый воркер gunicorn пишет свои метрики, чтобы "
                        "`/metrics` показывал сумму по воркерам. Обязателен при нескольких "
                        "воркерах; `config/gunicorn.py` очищает его при старте (`make serve` "
                        "берёт `.run/prometheus`, юнит systemd — `/run/vouch-web/metrics`)."
                    ),
                ),
            ),
            Variable(
                "PROMETHEUS_WORKER_MULTIPROC_DIR",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "The delivery worker's metrics directory on the same host (the worker "
                        "runs with it as its `PROMETHEUS_MULTIPROC_DIR`): `/metrics` adds its "
                        "numbers (sends, provider errors and latency, which happen in the worker"
                        " with `TASKS_BACKEND=database` or `rq`). `make worker` uses "
                        "`.run/prometheus-worker` and `make serve` reads it; the systemd units "
                        "use `/run/vouch-worker/metrics`."
                    ),
                    (
                        "Каталог метрик воркера доставки на том же хосте (для воркера это его "
                        "`PROMETHEUS_MULTIPROC_DIR`): `/metrics` добавляет его числа (отправки, "
                        "ошибки и задержки провайдеров, которые при `TASKS_BACKEND=database` или"
                        " `rq` происходят в воркере). `make worker` пишет в "
                        "`.run/prometheus-worker`, `make serve` его читает; юниты systemd "
                        "используют `/run/vouch-worker/metrics`."
                    ),
                ),
            ),
        ),
    ),
    Section(
        "retention",
        "Retention",
        "Сроки хранения",
        (
            Variable(
                "AUDIT_RETENTION_DAYS",
                default=(
                    "`90`",
                    "`90`",
                ),
                meaning=(
                    (
                        "Days [audit events](operations.md#audit-trail) are kept: `manage.py "
                        "prune` deletes older ones."
                    ),
                    (
                        "Сколько дней хранятся [события аудита](operations.md#журнал-аудита): "
                        "более старые удаляет `manage.py prune`."
                    ),
                ),
            ),
            Variable(
                "OTP_CHALLENGE_RETENTION_DAYS",
                default=(
                    "`31`",
                    "`31`",
                ),
                meaning=(
                    (
                        "Days expired sign-in challenges are kept; never less than the 30 days "
                        "the [conversion report](operations.md#conversion-monitoring) reads, and a "
                        "challenge "
                        "that can still be used is never deleted."
                    ),
                    (
                        "Сколько дней хранятся истёкшие коды входа; не меньше 30 дней, которые "
                        "читает [отчёт о конверсии](operations.md#мониторинг-конверсии), и код, "
                        "которым ещё "
                        "можно войти, не удаляется никогда."
                    ),
                ),
            ),
            Variable(
                "DELIVERY_RETENTION_DAYS",
                default=(
                    "`30`",
                    "`30`",
                ),
                meaning=(
                    (
                        "Days sent and failed outbox messages (with their attempts) are kept; a "
                        "queued message is never deleted."
                    ),
                    (
                        "Сколько дней хранятся отправленные и неудавшиеся сообщения очереди (с "
                        "попытками); сообщение в очереди не удаляется никогда."
                    ),
                ),
            ),
            Variable(
                "TASK_RESULT_RETENTION_DAYS",
                default=(
                    "`14`",
                    "`14`",
                ),
                meaning=(
                    "Days finished task rows are kept with `TASKS_BACKEND=database`.",
                    "Сколько дней хранятся завершённые задачи при `TASKS_BACKEND=database`.",
                ),
            ),
        ),
    ),
    Section(
        "delivery",
        "Delivery settings",
        "Настройки доставки",
        (
            Variable(
                "TASKS_BACKEND",
                default=(
                    "`immediate`",
                    "`immediate`",
                ),
                meaning=(
                    (
                        "Who sends messages. `immediate`: the request itself, before step 1 "
                        "answers (no worker; no retry rounds). `database`: delivery workers, "
                        "`make worker`, taking messages straight from the outbox table. `rq`: an"
                        " RQ worker with the queue in Redis (django-tasks-rq; needs `REDIS_URL`,"
                        " else the error `vouch.E021`). Anything else: the error `vouch.E020`."
                    ),
                    (
                        "Кто отправляет сообщения. `immediate` — сам запрос, до ответа шага 1 "
                        "(без воркера и без кругов повторов). `database` — воркеры доставки "
                        "`make worker`, берут сообщения прямо из таблицы исходящих. `rq` — "
                        "воркер RQ, очередь в Redis (django-tasks-rq; нужен `REDIS_URL`, иначе "
                        "ошибка `vouch.E021`). Любое другое значение — ошибка `vouch.E020`."
                    ),
                ),
            ),
            Variable(
                "SMS_BACKEND",
                default=(
                    "`console`",
                    "`console`",
                ),
                meaning=(
                    (
                        "The SMS backend for every number when `SMS_ROUTES` is empty, and for "
                        "the numbers it does not match when it has no `*` entry. A provider "
                        "alias (`twilio`, `smsru`, `smsc`, `smsaero`, `telegram`, `webhook`, see"
                        " [Providers](delivery.md#providers)), a development backend (`console`: "
                        "prints to "
                        "stdout; `file`: one file per message in `SMS_FILE_PATH`; `locmem`: in "
                        "memory, for tests; `dummy`: drops messages), or the dotted path of your"
                        " own backend class."
                    ),
                    (
                        "SMS-бэкенд для всех номеров, если `SMS_ROUTES` пуст, и для номеров, не "
                        "подошедших ни к одной записи, если в нём нет записи `*`. Псевдоним "
                        "провайдера (`twilio`, `smsru`, `smsc`, `smsaero`, `telegram`, "
                        "`webhook`, см. [Провайдеры](delivery.md#провайдеры)), бэкенд для "
                        "разработки "
                        "(`console` — печать в stdout; `file` — файл на каждое сообщение в "
                        "`SMS_FILE_PATH`; `locmem` — в памяти, для тестов; `dummy` — сообщения "
                        "выбрасываются) или путь к своему классу бэкенда."
                    ),
                ),
            ),
            Variable(
                "SMS_ROUTES",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "Backends per number prefix or country, in order of preference, first "
                        "matching entry wins: `KZ:smsc;+7:smsaero,smsru;*:twilio`. See [Routing "
                        "and failover](delivery.md#routing-and-failover). Malformed, or naming an "
                        "unknown "
                        "backend: `vouch.E002`."
                    ),
                    (
                        "Бэкенды по префиксу номера или стране, в порядке предпочтения, "
                        "побеждает первая подошедшая запись: "
                        "`KZ:smsc;+7:smsaero,smsru;*:twilio`. См. [Маршруты и "
                        "переключение](delivery.md#маршруты-и-переключение). Неправильная запись "
                        "или "
                        "неизвестный бэкенд — `vouch.E002`."
                    ),
                ),
            ),
            Variable(
                "SMS_TIMEOUT",
                default=(
                    "`10`",
                    "`10`",
                ),
                meaning=(
                    (
                        "Seconds each HTTP request to an SMS provider may take (a decimal is "
                        "fine); a timeout is a temporary failure."
                    ),
                    (
                        "Сколько секунд может длиться каждый HTTP-запрос к SMS-провайдеру (можно"
                        " дробное число); таймаут — временный сбой."
                    ),
                ),
            ),
            Variable(
                "DELIVERY_BATCH",
                default=("`32`", "`32`"),
                meaning=(
                    (
                        "With a worker: how many due messages one round (`database`) or one "
                        "task (`rq`, its own first) claims and sends together; `1`: one at a time."
                    ),
                    (
                        "С воркером: сколько готовых к отправке сообщений берёт и отправляет "
                        "вместе один круг (`database`) или одна задача (`rq`, своё первым); "
                        "`1` — по одному."
                    ),
                ),
            ),
            Variable(
                "DELIVERY_CONCURRENCY",
                default=("`32`", "`32`"),
                meaning=(
                    (
                        "With a worker: how many sends of a batch are in flight at once (threads "
                        "that only call providers; the worker keeps one database connection)."
                    ),
                    (
                        "С воркером: сколько отправок пакета идут одновременно (потоки только "
                        "обращаются к провайдерам; у воркера одно соединение с базой)."
                    ),
                ),
            ),
            Variable(
                "SMS_MAX_ROUNDS",
                default=(
                    "`5`",
                    "`5`",
                ),
                meaning=(
                    (
                        "With a worker: how many times the whole route is tried before the "
                        "message fails."
                    ),
                    (
                        "С воркером: сколько раз пробуется весь маршрут, прежде чем сообщение "
                        "провалится."
                    ),
                ),
            ),
            Variable(
                "SMS_RETRY_BACKOFF",
                default=(
                    "`30`",
                    "`30`",
                ),
                meaning=(
                    (
                        "With a worker: seconds before the second round; each further wait "
                        "doubles (`SMS_RETRY_BACKOFF * 2^(n-1)` after round n)."
                    ),
                    (
                        "С воркером: секунд до второго круга; каждая следующая пауза вдвое "
                        "длиннее (`SMS_RETRY_BACKOFF * 2^(n-1)` после круга n)."
                    ),
                ),
            ),
            Variable(
                "SMS_CALLBACK_SECRET",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "Secret part of the status-callback URLs of `smsru`, `smsc` and "
                        "`smsaero` (`/api/delivery/<alias>/status/<secret>/`); while it is empty"
                        " their callbacks are rejected and `smsaero` asks for none. Also a key "
                        "`smsc` signatures may use."
                    ),
                    (
                        "Секретная часть URL уведомлений о статусе для `smsru`, `smsc` и "
                        "`smsaero` (`/api/delivery/<alias>/status/<секрет>/`); пока он пуст, их "
                        "уведомления отклоняются, а `smsaero` их не запрашивает. Также ключ, "
                        "которым может быть подписано уведомление `smsc`."
                    ),
                ),
            ),
            Variable(
                "SMS_FILE_PATH",
                default=(
                    "`<project>/sent_sms`",
                    "`<проект>/sent_sms`",
                ),
                meaning=(
                    (
                        "Directory of the `file` backend. Each file: line 1 is the phone in "
                        "E.164, the rest is the text."
                    ),
                    (
                        "Каталог бэкенда `file`. В каждом файле первая строка — телефон в E.164,"
                        " дальше — текст."
                    ),
                ),
            ),
            Variable(
                "SMS_ALLOW_DEV_BACKEND",
                default=(
                    "`false`",
                    "`false`",
                ),
                meaning=(
                    (
                        "`true` lets development backends (`console`, `file`, `locmem`, `dummy`)"
                        " run with `DEBUG` off; otherwise that is the error `vouch.E001` and "
                        "`make serve` does not start. For demos and staging, never with real "
                        "users."
                    ),
                    (
                        "`true` разрешает бэкендам для разработки (`console`, `file`, `locmem`, "
                        "`dummy`) работать при выключенном `DEBUG`; иначе это ошибка "
                        "`vouch.E001`, и `make serve` не запускается. Для демонстраций и "
                        "тестовых стендов, но не для настоящих пользователей."
                    ),
                ),
            ),
            Variable(
                "SMS_WEBHOOK_URL",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    "`webhook`: where messages are POSTed. Required by that backend.",
                    ("`webhook`: куда отправлять сообщения (POST). Для этого бэкенда обязательна."),
                ),
            ),
            Variable(
                "SMS_WEBHOOK_SECRET",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "`webhook`: HMAC-SHA256 key of `X-Vouch-Signature`, on messages and on "
                        "the gateway's callbacks. Required by that backend."
                    ),
                    (
                        "`webhook`: ключ HMAC-SHA256 для `X-Vouch-Signature` — и у сообщений, и "
                        "у уведомлений шлюза. Для этого бэкенда обязательна."
                    ),
                ),
            ),
            Variable(
                "TWILIO_ACCOUNT_SID",
                "TWILIO_AUTH_TOKEN",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "`twilio`: account SID and auth token (the token also checks callback "
                        "signatures). Required."
                    ),
                    (
                        "`twilio`: SID учётной записи и auth token (токеном же проверяются "
                        "подписи уведомлений). Обязательны."
                    ),
                ),
            ),
            Variable(
                "TWILIO_MESSAGING_SERVICE_SID",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "`twilio`: Messaging Service that picks the sender. This or "
                        "`TWILIO_FROM` is required; it wins when both are set."
                    ),
                    (
                        "`twilio`: Messaging Service, который сам выбирает отправителя. Нужна "
                        "она или `TWILIO_FROM`; если заданы обе, используется она."
                    ),
                ),
            ),
            Variable(
                "TWILIO_FROM",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "`twilio`: sender number (E.164) or alphanumeric sender ID, when no "
                        "Messaging Service is set."
                    ),
                    (
                        "`twilio`: номер отправителя (E.164) или буквенное имя, если Messaging "
                        "Service не задан."
                    ),
                ),
            ),
            Variable(
                "TWILIO_API_URL",
                default=(
                    "`https://api.twilio.com`",
                    "`https://api.twilio.com`",
                ),
                meaning=(
                    "`twilio`: API base URL.",
                    "`twilio`: базовый URL API.",
                ),
            ),
            Variable(
                "SMSRU_API_ID",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    ("`smsru`: the account's API id (also the key of callback hashes). Required."),
                    "`smsru`: API id кабинета (он же ключ хеша уведомлений). Обязательна.",
                ),
            ),
            Variable(
                "SMSRU_FROM",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    "`smsru`: an approved sender name; empty uses the account's default.",
                    (
                        "`smsru`: одобренное имя отправителя; пусто — отправитель кабинета по "
                        "умолчанию."
                    ),
                ),
            ),
            Variable(
                "SMSRU_API_URL",
                default=(
                    "`https://sms.ru`",
                    "`https://sms.ru`",
                ),
                meaning=(
                    "`smsru`: API base URL.",
                    "`smsru`: базовый URL API.",
                ),
            ),
            Variable(
                "SMSC_LOGIN",
                "SMSC_PASSWORD",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    "`smsc`: account login and password. Required.",
                    "`smsc`: логин и пароль кабинета. Обязательны.",
                ),
            ),
            Variable(
                "SMSC_SENDER",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    "`smsc`: an approved sender name; empty uses the account's default.",
                    (
                        "`smsc`: одобренное имя отправителя; пусто — отправитель кабинета по "
                        "умолчанию."
                    ),
                ),
            ),
            Variable(
                "SMSC_API_URL",
                default=(
                    "`https://smsc.ru`",
                    "`https://smsc.ru`",
                ),
                meaning=(
                    "`smsc`: API base URL.",
                    "`smsc`: базовый URL API.",
                ),
            ),
            Variable(
                "SMSAERO_EMAIL",
                "SMSAERO_API_KEY",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    "`smsaero`: account e-mail and API key (HTTP Basic auth). Required.",
                    "`smsaero`: e-mail кабинета и API-ключ (HTTP Basic auth). Обязательны.",
                ),
            ),
            Variable(
                "SMSAERO_SIGN",
                default=(
                    "`SMS Aero`",
                    "`SMS Aero`",
                ),
                meaning=(
                    "`smsaero`: an approved sender name.",
                    "`smsaero`: одобренное имя отправителя.",
                ),
            ),
            Variable(
                "SMSAERO_API_URL",
                default=(
                    "`https://gate.smsaero.ru/v2`",
                    "`https://gate.smsaero.ru/v2`",
                ),
                meaning=(
                    "`smsaero`: API base URL.",
                    "`smsaero`: базовый URL API.",
                ),
            ),
            Variable(
                "TELEGRAM_GATEWAY_TOKEN",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "`telegram`: Telegram Gateway API token (also the key of callback "
                        "signatures). Required."
                    ),
                    (
                        "`telegram`: токен API Telegram Gateway (он же ключ подписи "
                        "уведомлений). Обязательна."
                    ),
                ),
            ),
            Variable(
                "TELEGRAM_GATEWAY_CHECK_ABILITY",
                default=(
                    "`false`",
                    "`false`",
                ),
                meaning=(
                    (
                        "`telegram`: call `checkSendAbility` before each message; a phone that "
                        "cannot receive is then refused before `sendVerificationMessage` (a "
                        "refused check is not billed)."
                    ),
                    (
                        "`telegram`: перед каждым сообщением вызывать `checkSendAbility`; номер,"
                        " который не может получить сообщение, отсеивается до "
                        "`sendVerificationMessage` (отказ проверки не оплачивается)."
                    ),
                ),
            ),
            Variable(
                "TELEGRAM_GATEWAY_API_URL",
                default=(
                    "`https://gatewayapi.telegram.org`",
                    "`https://gatewayapi.telegram.org`",
                ),
                meaning=(
                    "`telegram`: API base URL.",
                    "`telegram`: базовый URL API.",
                ),
            ),
            Variable(
                "EMAIL_HOST_USER",
                "EMAIL_HOST_PASSWORD",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    (
                        "SMTP login (for Gmail: the address and an app password). Set "
                        "`EMAIL_HOST` with it: a login while `EMAIL_HOST` is left at `localhost`"
                        " is the warning `vouch.W003`."
                    ),
                    (
                        "Логин SMTP (для Gmail — адрес и пароль приложения). Задавайте вместе с "
                        "`EMAIL_HOST`: логин при `EMAIL_HOST`, оставленном `localhost`, — "
                        "предупреждение `vouch.W003`."
                    ),
                ),
            ),
            Variable(
                "EMAIL_BACKEND",
                default=(
                    "console with `DEBUG` on and no SMTP login; SMTP otherwise",
                    "console при включённом `DEBUG` и без логина SMTP; иначе SMTP",
                ),
                meaning=(
                    (
                        "Django e-mail backend (dotted path); any Django backend works, "
                        "django-anymail's too."
                    ),
                    (
                        "Бэкенд почты Django (путь к классу); подходит любой бэкенд Django, в "
                        "том числе из django-anymail."
                    ),
                ),
            ),
            Variable(
                "EMAIL_HOST",
                default=(
                    "`localhost`",
                    "`localhost`",
                ),
                meaning=(
                    (
                        "SMTP server; for Gmail `smtp.gmail.com` (with `EMAIL_PORT=587` and "
                        "`EMAIL_USE_TLS=true`)."
                    ),
                    (
                        "SMTP-сервер; для Gmail — `smtp.gmail.com` (с `EMAIL_PORT=587` и "
                        "`EMAIL_USE_TLS=true`)."
                    ),
                ),
            ),
            Variable(
                "EMAIL_PORT",
                default=(
                    "`25`",
                    "`25`",
                ),
                meaning=(
                    "SMTP port.",
                    "Порт SMTP.",
                ),
            ),
            Variable(
                "EMAIL_USE_TLS",
                default=(
                    "`false`",
                    "`false`",
                ),
                meaning=(
                    "STARTTLS to the SMTP server.",
                    "STARTTLS при соединении с SMTP-сервером.",
                ),
            ),
            Variable(
                "EMAIL_TIMEOUT",
                default=(
                    "`10`",
                    "`10`",
                ),
                meaning=(
                    "Seconds before an SMTP attempt fails (a temporary failure).",
                    "Секунд до отказа попытки SMTP (временный сбой).",
                ),
            ),
            Variable(
                "EMAIL_FILE_PATH",
                default=(
                    "unset",
                    "не задан",
                ),
                meaning=(
                    "Directory for Django's file-based e-mail backend.",
                    "Каталог для файлового почтового бэкенда Django.",
                ),
            ),
            Variable(
                "DEFAULT_FROM_EMAIL",
                default=(
                    "`EMAIL_HOST_USER`, else `webmaster@localhost`",
                    "`EMAIL_HOST_USER`, иначе `webmaster@localhost`",
                ),
                meaning=(
                    "Sender of code e-mails.",
                    "Отправитель писем с кодом.",
                ),
            ),
        ),
    ),
    Section(
        "webhooks",
        "Events for the host app",
        "События для основного приложения",
        (
            Variable(
                "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
                default=("`false`", "`false`"),
                meaning=(
                    (
                        "`true`: webhook endpoints may use plain `http` and loopback, private, "
                        "link-local or other non-public addresses (a receiver on the same host "
                        "or network). Off, deliveries go over `https` to public addresses only, "
                        "checked after DNS resolution."
                    ),
                    (
                        "`true`: адреса вебхуков могут быть на `http` и на loopback, частных, "
                        "link-local и других непубличных адресах (получатель на той же машине "
                        "или в той же сети). Выключено — доставка только по `https` на "
                        "публичные адреса, проверенные после разрешения DNS."
                    ),
                ),
            ),
            Variable(
                "WEBHOOK_RETRY_SCHEDULE",
                default=(
                    "`5,300,1800,7200,18000,36000,36000`",
                    "`5,300,1800,7200,18000,36000,36000`",
                ),
                meaning=(
                    (
                        "Seconds before each retry of a failed event delivery (about 5 s, "
                        "5 min, 30 min, 2 h, 5 h, 10 h, 10 h); once they are spent the "
                        "delivery has failed."
                    ),
                    (
                        "Секунд до каждой следующей попытки доставить событие (около 5 с, "
                        "5 мин, 30 мин, 2 ч, 5 ч, 10 ч, 10 ч); когда они кончились, доставка "
                        "не удалась."
                    ),
                ),
            ),
            Variable(
                "WEBHOOK_DISABLE_AFTER_DAYS",
                default=("`5`", "`5`"),
                meaning=(
                    (
                        "An endpoint every delivery attempt to which has failed for this many "
                        "days is switched off, with the reason staff see."
                    ),
                    (
                        "Адрес, все попытки доставки на который не удавались столько дней, "
                        "выключается с причиной, которую видит персонал."
                    ),
                ),
            ),
        ),
    ),
    Section(
        "api",
        "API, tokens and proxies",
        "API, токены и прокси",
        (
            Variable(
                "JWT_ACCESS_TTL",
                default=(
                    "`900`",
                    "`900`",
                ),
                meaning=(
                    "Seconds an access token lives.",
                    "Сколько секунд живёт access-токен.",
                ),
            ),
            Variable(
                "JWT_REFRESH_TTL",
                default=(
                    "`2592000`",
                    "`2592000`",
                ),
                meaning=(
                    (
                        "Seconds a sign-in's refresh tokens live (30 days), absolute from the "
                        "sign-in."
                    ),
                    (
                        "Сколько секунд живут refresh-токены одного входа (30 дней), считая от "
                        "входа."
                    ),
                ),
            ),
            Variable(
                "API_MAX_BODY_BYTES",
                default=(
                    "`65536`",
                    "`65536`",
                ),
                meaning=(
                    (
                        "Largest request body under `/api/`, by `Content-Length`; larger ones "
                        "get 413 `request_too_large`."
                    ),
                    (
                        "Наибольшее тело запроса под `/api/`, по `Content-Length`; больше — 413 "
                        "`request_too_large`."
                    ),
                ),
            ),
            Variable(
                "CORS_ALLOWED_ORIGINS",
                default=(
                    "empty (no origin)",
                    "пусто (ни одного)",
                ),
                meaning=(
                    (
                        "Origins (`https://app.example.com`, `http://localhost:5173`: scheme, "
                        "host and port, comma-separated) whose browser apps may call `/api/` "
                        "from another origin: their preflights and answers get "
                        "`Access-Control-Allow-Origin`, with the `Authorization` and "
                        "`Content-Type` request headers allowed and `Retry-After` readable. No "
                        "cookies cross origins (such apps use the bearer token); other origins "
                        "and the pages outside `/api/` get no CORS headers."
                    ),
                    (
                        "Origin'ы (`https://app.example.com`, `http://localhost:5173`: схема, "
                        "хост и порт, через запятую), чьи браузерные приложения могут обращаться"
                        " к `/api/` с другого origin: их preflight-запросы и ответы получают "
                        "`Access-Control-Allow-Origin`, заголовки запроса `Authorization` и "
                        "`Content-Type` разрешены, `Retry-After` доступен для чтения. Cookie "
                        "между origin'ами не передаются (такие приложения пользуются "
                        "bearer-токеном); другие origin'ы и страницы вне `/api/` CORS-заголовков"
                        " не получают."
                    ),
                ),
            ),
            Variable(
                "TRUSTED_PROXY_COUNT",
                default=(
                    "`0`",
                    "`0`",
                ),
                meaning=(
                    (
                        "Number of reverse proxies in front. With N > 0 the client IP (the one "
                        "the per-IP limits count) is the N-th `X-Forwarded-For` entry from the "
                        "right (other headers are ignored), and `X-Forwarded-Proto: https` marks"
                        " a request as secure, so the proxy must set both. With 0 it is the "
                        "socket's address."
                    ),
                    (
                        "Сколько обратных прокси стоит перед сервисом. При N > 0 IP клиента (по "
                        "нему считаются лимиты на IP) — N-я запись `X-Forwarded-For` справа "
                        "(другие заголовки игнорируются), а `X-Forwarded-Proto: https` означает "
                        "защищённый запрос, так что прокси должен выставлять оба заголовка. При "
                        "0 это адрес сокета."
                    ),
                ),
            ),
        ),
    ),
    Section(
        "https",
        "HTTPS and cookies",
        "HTTPS и cookie",
        (
            Variable(
                "SECURE_SSL_REDIRECT",
                default=(
                    "`true` (`false` with `DEBUG` on)",
                    "`true` (`false` при включённом `DEBUG`)",
                ),
                meaning=(
                    (
                        "Redirect HTTP to HTTPS. Set `false` when the proxy redirects itself, or"
                        " for a local plain-HTTP run. Behind a TLS-terminating proxy keep it on "
                        "and set `TRUSTED_PROXY_COUNT`, or requests loop."
                    ),
                    (
                        "Перенаправлять HTTP на HTTPS. Поставьте `false`, если перенаправляет "
                        "сам прокси, или для локального запуска по HTTP. За прокси, который "
                        "снимает TLS, оставьте включённым и задайте `TRUSTED_PROXY_COUNT`, иначе"
                        " запросы зациклятся."
                    ),
                ),
            ),
            Variable(
                "SESSION_COOKIE_SECURE",
                default=(
                    "`true` (`false` with `DEBUG` on)",
                    "`true` (`false` при включённом `DEBUG`)",
                ),
                meaning=(
                    "Session cookie only over HTTPS.",
                    "Сессионная cookie только по HTTPS.",
                ),
            ),
            Variable(
                "CSRF_COOKIE_SECURE",
                default=(
                    "`true` (`false` with `DEBUG` on)",
                    "`true` (`false` при включённом `DEBUG`)",
                ),
                meaning=(
                    "CSRF cookie only over HTTPS.",
                    "CSRF-cookie только по HTTPS.",
                ),
            ),
            Variable(
                "SECURE_HSTS_SECONDS",
                default=(
                    "`31536000` (`0` with `DEBUG` on)",
                    "`31536000` (`0` при включённом `DEBUG`)",
                ),
                meaning=(
                    (
                        "HSTS max-age (one year). Use a small value first if the domain has not "
                        "served HTTPS everywhere before."
                    ),
                    (
                        "max-age для HSTS (год). Если домен раньше не везде работал по HTTPS, "
                        "начните с небольшого значения."
                    ),
                ),
            ),
            Variable(
                "SECURE_HSTS_INCLUDE_SUBDOMAINS",
                default=(
                    "`true` (`false` with `DEBUG` on)",
                    "`true` (`false` при включённом `DEBUG`)",
                ),
                meaning=(
                    "HSTS for every subdomain too.",
                    "HSTS и для всех поддоменов.",
                ),
            ),
            Variable(
                "SECURE_HSTS_PRELOAD",
                default=(
                    "`true` (`false` with `DEBUG` on)",
                    "`true` (`false` при включённом `DEBUG`)",
                ),
                meaning=(
                    (
                        "Adds `preload` to HSTS. Only submit the domain to browser preload lists"
                        " when every subdomain serves HTTPS for good."
                    ),
                    (
                        "Добавляет `preload` в HSTS. Заявляйте домен в preload-списки браузеров,"
                        " только если все поддомены навсегда работают по HTTPS."
                    ),
                ),
            ),
            Variable(
                "CSP_REPORT_URI",
                default=(
                    "empty (no reports)",
                    "пусто (без отчётов)",
                ),
                meaning=(
                    (
                        "URL that browsers send reports of Content-Security-Policy violations to"
                        " (`report-uri`). The policy is enforced either way."
                    ),
                    (
                        "URL, на который браузеры отправляют отчёты о нарушениях "
                        "Content-Security-Policy (`report-uri`). Политика действует в любом "
                        "случае."
                    ),
                ),
            ),
            Variable(
                "PERMISSIONS_POLICY",
                default=(
                    (
                        "every powerful feature the site does not use switched off: "
                        "`accelerometer=(), autoplay=(), browsing-topics=(), camera=(), "
                        "display-capture=(), encrypted-media=(), gamepad=(), geolocation=(), "
                        "gyroscope=(), hid=(), idle-detection=(), local-fonts=(), "
                        "magnetometer=(), microphone=(), midi=(), payment=(), "
                        "picture-in-picture=(), publickey-credentials-get=(), "
                        "screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()`"
                    ),
                    (
                        "выключены все мощные функции браузера, которыми сайт не пользуется: "
                        "`accelerometer=(), autoplay=(), browsing-topics=(), camera=(), "
                        "display-capture=(), encrypted-media=(), gamepad=(), geolocation=(), "
                        "gyroscope=(), hid=(), idle-detection=(), local-fonts=(), "
                        "magnetometer=(), microphone=(), midi=(), payment=(), "
                        "picture-in-picture=(), publickey-credentials-get=(), "
                        "screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()`"
                    ),
                ),
                meaning=(
                    (
                        "The `Permissions-Policy` header of every answer. Leave out "
                        "`otp-credentials` and `clipboard-write`: the code page reads the code "
                        "from the SMS and the profile copies the invite link. Empty: no header."
                    ),
                    (
                        "Заголовок `Permissions-Policy` каждого ответа. Не выключайте "
                        "`otp-credentials` и `clipboard-write`: страница кода читает код из SMS,"
                        " а профиль копирует ссылку-приглашение. Пусто — заголовка нет."
                    ),
                ),
            ),
        ),
    ),
    Section(
        "makefile",
        "Used by the Makefile and the tests",
        "Для Makefile и тестов",
        (
            Variable(
                "BIND",
                default=(
                    "`127.0.0.1:8000`",
                    "`127.0.0.1:8000`",
                ),
                meaning=(
                    "`make serve`: gunicorn's address.",
                    "`make serve`: адрес gunicorn.",
                ),
            ),
            Variable(
                "WEB_CONCURRENCY",
                default=(
                    "`4`",
                    "`4`",
                ),
                meaning=(
                    "`make serve`: gunicorn workers.",
                    "`make serve`: число воркеров gunicorn.",
                ),
            ),
            Variable(
                "PYTHON",
                default=(
                    "`python3`",
                    "`python3`",
                ),
                meaning=(
                    "Interpreter that creates `.venv`.",
                    "Интерпретатор, которым создаётся `.venv`.",
                ),
            ),
            Variable(
                "PYTEST_ARGS",
                default=(
                    "empty",
                    "пусто",
                ),
                meaning=(
                    ('`make test`: extra pytest arguments, e.g. `PYTEST_ARGS="-k referrals -x"`.'),
                    (
                        '`make test`: дополнительные аргументы pytest, например `PYTEST_ARGS="-k'
                        ' referrals -x"`.'
                    ),
                ),
            ),
            Variable(
                "CI",
                default=(
                    "unset",
                    "не задан",
                ),
                meaning=(
                    (
                        "`true` turns skipped tests into failures: the PostgreSQL tests when "
                        "PostgreSQL does not answer, the browser tests when Chromium or axe-core"
                        " is missing."
                    ),
                    (
                        "`true` превращает пропуск тестов в провал: тестов PostgreSQL — если "
                        "PostgreSQL не отвечает, браузерных тестов — если нет Chromium или "
                        "axe-core."
                    ),
                ),
            ),
            Variable(
                "PGHOST",
                "PGPORT",
                default=(
                    "`127.0.0.1`, `5432`",
                    "`127.0.0.1`, `5432`",
                ),
                meaning=(
                    "Where the tests look for PostgreSQL under `CI=true`.",
                    "Где тесты ищут PostgreSQL при `CI=true`.",
                ),
            ),
            Variable(
                "REDIS_TEST_URL",
                default=(
                    "`redis://127.0.0.1:6379/13`",
                    "`redis://127.0.0.1:6379/13`",
                ),
                meaning=(
                    (
                        "Redis database of the Redis limiter tests; each of them empties it "
                        "first. Without a Redis there they are skipped (they fail under "
                        "`CI=true`)."
                    ),
                    (
                        "База Redis для тестов ограничителя на Redis; перед каждым таким тестом "
                        "она очищается. Если там нет Redis, эти тесты пропускаются (при "
                        "`CI=true` падают)."
                    ),
                ),
            ),
            Variable(
                "DJANGO_SUPERUSER_PASSWORD",
                default=(
                    "unset",
                    "не задан",
                ),
                meaning=(
                    "Django's: the password for `createsuperuser --noinput`.",
                    "Переменная Django: пароль для `createsuperuser --noinput`.",
                ),
            ),
        ),
    ),
)

HEADERS = {"en": ("variable", "default", "meaning"), "ru": ("переменная", "по умолчанию", "смысл")}


def variables() -> Iterator[Variable]:
    for section in SECTIONS:
        yield from section.variables


def names() -> set[str]:
    """Every variable named in the reference."""
    return {name for variable in variables() for name in variable.names}


def reference_markdown(language: str, *, level: int = 3) -> str:
    """The reference in `language`: a heading (`level`, default `###`) and a table per section."""
    index = LANGUAGES.index(language)
    head = HEADERS[language]
    blocks = []
    for section in SECTIONS:
        rows = [
            f"{'#' * level} {section.title(language)}",
            "",
            f"| {' | '.join(head)} |",
            "|---|---|---|",
        ]
        for variable in section.variables:
            name = ", ".join(f"`{name}`" for name in variable.names)
            rows.append(f"| {name} | {variable.default[index]} | {variable.meaning[index]} |")
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks) + "\n"


# The configuration pages of the docs site hold the reference between these two lines, written
# by `manage.py settings_reference --write` and checked by the tests.
GENERATED_START = "<!-- generated: manage.py settings_reference --write -->"
GENERATED_END = "<!-- end of generated -->"
PAGES = {"en": "docs/configuration.md", "ru": "docs/configuration.ru.md"}


def page_with_reference(page: str, language: str) -> str:
    """`page` (a configuration page's text) with its generated part written afresh."""
    head, start, rest = page.partition(GENERATED_START)
    _old, end, tail = rest.partition(GENERATED_END)
    if not start or not end:
        raise ValueError("the page lacks the generated part's marker lines")
    body = reference_markdown(language, level=3)
    return f"{head}{start}\n\n{body}\n{end}{tail}"
