"""Fill locale/ru/LC_MESSAGES/django.po from the table below (run `make messages` after)."""

import re
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale/ru/LC_MESSAGES/django.po"

RU = {
    "Password": "Пароль",
    "Only staff need one, to sign in to this admin. Others sign in by code.": "Нужен только сотрудникам, для входа в эту админку. Остальные входят по коду.",
    "Contact": "Контакты",
    "Invitations": "Приглашения",
    "Permissions": "Права",
    "Dates": "Даты",
    "Latest referrals": "Последние приглашённые",
    "All %(count)s referrals": "Все приглашённые: %(count)s",
    "Accounts": "Учётные записи",
    "A user with this phone number already exists.": "Пользователь с таким номером телефона уже существует.",
    "Token is invalid or expired.": "Токен недействителен или истёк.",
    "phone": "телефон",
    "e-mail": "e-mail",
    "e-mail verified": "e-mail подтверждён",
    "invite code": "инвайт-код",
    "invited by": "пригласил",
    "activated invite code": "активированный инвайт-код",
    "invite activated at": "инвайт активирован",
    "referrals": "приглашённые",
    "active": "активен",
    "staff": "сотрудник",
    "date joined": "дата регистрации",
    "user": "пользователь",
    "users": "пользователи",
    "sign-in": "вход",
    "sign-ins": "входы",
    "Not found.": "Не найдено.",
    "Method not allowed.": "Метод не разрешён.",
    "The request body is too large.": "Тело запроса слишком большое.",
    "Server error. It has been logged.": "Ошибка сервера. Она записана в журнал.",
    "The service is temporarily unavailable.": "Сервис временно недоступен.",
    "Enter a valid phone number.": "Введите правильный номер телефона.",
    "This channel is switched off.": "Этот способ доставки отключён.",
    "An e-mail address is required.": "Нужен адрес e-mail.",
    "Enter the digits of the code.": "Введите цифры кода.",
    "Sign in with a phone number in two steps.": "Вход по номеру телефона в два шага.",
    "Code sent.": "Код отправлен.",
    "Activate someone's invite code, once.": "Активируйте чужой инвайт-код (один раз).",
    "Enter a user id.": "Введите id пользователя.",
    "The request could not be completed.": "Запрос не удалось выполнить.",
    "Too many requests. Try again later.": "Слишком много запросов. Попробуйте позже.",
    "Delivery": "Доставка",
    "One-time codes": "Одноразовые коды",
    "Codes cannot be sent to numbers of this country.": "Коды нельзя отправлять на номера этой страны.",
    "The code could not be sent. Please try again in a moment.": "Код не удалось отправить. Попробуйте ещё раз чуть позже.",
    "The code is wrong.": "Неверный код.",
    "Too many wrong codes. Ask for a new code.": "Слишком много неверных попыток. Запросите новый код.",
    "The code has expired. Ask for a new code.": "Срок действия кода истёк. Запросите новый код.",
    "There is no active code for this number. Ask for a code first.": "Для этого номера нет действующего кода. Сначала запросите код.",
    "This account signs in by e-mail only at the address it has on record. Use that address or sign in by SMS.": "Вход в эту учётную запись по e-mail возможен только через указанный в ней адрес. Используйте его или войдите по SMS.",
    "This account is disabled.": "Эта учётная запись отключена.",
    "Your Vouch code is %(code)s. Do not share it.": "Ваш код Vouch: %(code)s. Никому его не сообщайте.",
    "Your Vouch code": "Ваш код Vouch",
    "Your Vouch sign-in code is %(code)s.\n\nIt works for %(minutes)s minutes. If you did not ask for it, ignore this e-mail.": "Ваш код для входа в Vouch: %(code)s.\n\nОн действует %(minutes)s мин. Если вы его не запрашивали, просто проигнорируйте это письмо.",
    "SMS": "SMS",
    "E-mail": "E-mail",
    "pending": "ожидает",
    "sent": "отправлено",
    "failed": "ошибка",
    "test number, not sent": "тестовый номер, не отправлялось",
    "channel": "канал",
    "destination": "получатель",
    "created at": "создан",
    "expires at": "истекает",
    "attempts": "попытки",
    "consumed at": "использован",
    "IP address": "IP-адрес",
    "delivery": "доставка",
    "code challenge": "запрос кода",
    "code challenges": "запросы кодов",
    "Referrals": "Рефералы",
    "No invite code like this exists.": "Такого инвайт-кода нет.",
    "You cannot activate your own invite code.": "Нельзя активировать собственный инвайт-код.",
    "This code belongs to someone you invited, directly or through others.": "Этот код принадлежит тому, кого пригласили вы (напрямую или через других).",
    "You have already activated an invite code.": "Вы уже активировали инвайт-код.",
}


def _unquote(lines: list[str]) -> str:
    return "".join(
        bytes(re.match(r'^"(.*)"$', ln).group(1), "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
        for ln in lines
    )


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'msgstr "{escaped}"'


def main() -> None:
    blocks = PO.read_text(encoding="utf-8").split("\n\n")
    out, missing = [], []
    for block in blocks:
        lines = block.split("\n")
        try:
            i = next(n for n, ln in enumerate(lines) if ln.startswith("msgid "))
            j = next(n for n, ln in enumerate(lines) if ln.startswith("msgstr "))
        except StopIteration:
            out.append(block)
            continue
        msgid = _unquote([lines[i][len("msgid ") :], *lines[i + 1 : j]])
        if not msgid:
            out.append(block)
            continue
        if msgid not in RU:
            missing.append(msgid)
            out.append(block)
            continue
        end = j + 1
        while end < len(lines) and lines[end].startswith('"'):
            end += 1
        lines = [ln for ln in lines[:j] if ln != "#, fuzzy"] + [_quote(RU[msgid])] + lines[end:]
        out.append("\n".join(lines))
    PO.write_text("\n\n".join(out), encoding="utf-8")
    for msgid in missing:
        print("untranslated:", msgid)


if __name__ == "__main__":
    main()
