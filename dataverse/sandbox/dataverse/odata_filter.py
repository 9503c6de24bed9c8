"""The sandbox's OData `$filter` engine: parses a filter once and compiles it into a row predicate.

Grammar (precedence low to high): `or`, `and`, `not`, comparison (`eq ne gt ge lt le`), primary. Primaries are
literals, parenthesised expressions, `contains/startswith/endswith`, `Microsoft.Dynamics.CRM.*` query functions
(see odata_functions) and property paths: a column (lookups by their wire name `_x_value`), a single-valued
navigation property followed by `/column`, or a collection navigation property followed by `/any(v:...)` or
`/all(v:...)`. Evaluation is three-valued as in SQL; only rows where the filter is true pass. Every failure is a
SandboxError shaped like Dataverse's (400, 0x80060888).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dataverse.sandbox.dataverse.model import Column, Dataset, LookupValue, QueryContext, Row, Table
from dataverse.sandbox.dataverse.odata_functions import compile_query_function
from dataverse.sandbox.dataverse.odata_lexer import Token, query_error, syntax_error, tokenize
from dataverse.sandbox.dataverse.odata_nodes import (
    EDM_TYPES,
    MAX_DEPTH,
    OPERATOR_KINDS,
    ChildIndex,
    Node,
    Scope,
    and3,
    chain,
    compatible,
    day_of,
    literal_node,
    or3,
    require_boolean,
)
from dataverse.sandbox.dataverse.odata_semantics import compare, like, like_regex, null_test, read_cell


def _cell_reader(reach: Callable[[Scope], Row | None], column: Column) -> Callable[[Scope], Any]:
    """Evaluates to `column`'s value in the row `reach` finds."""
    return lambda scope: read_cell(reach(scope), column)


def compile_filter(text: str, table: Table, dataset: Dataset, ctx: QueryContext) -> Callable[[Row], bool]:
    """A predicate that is true for the rows of `table` the `$filter` expression `text` selects."""
    try:
        parser = _Parser(text, table, dataset, ctx)
        node = parser.parse()
    except RecursionError:
        raise query_error(f"The $filter expression is nested too deeply in '{text}'.") from None
    if node.edm_type not in ("Edm.Boolean", "null"):
        raise query_error("The $filter expression must evaluate to a single boolean value.")

    def predicate(row: Row) -> bool:
        return node.evaluate({"$it": row}) is True

    return predicate


class _Parser:
    def __init__(self, text: str, table: Table, dataset: Dataset, ctx: QueryContext):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.root = table
        self.dataset = dataset
        self.ctx = ctx
        self.variables: dict[str, Table] = {"$it": table}
        self.depth = 0

    # ---- token helpers ----
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        token = self.current
        return token.kind == kind and (text is None or token.text == text)

    def expect_punct(self, char: str) -> Token:
        if not self.at("punct", char):
            raise query_error(f"'{char}' expected at position {self.current.position} in '{self.text}'.")
        return self.advance()

    # ---- grammar ----
    def parse(self) -> Node:
        if self.at("end"):
            raise query_error(f"Expression expected at position 0 in '{self.text}'.")
        node = self.parseor3()
        if not self.at("end"):
            raise syntax_error(self.current.position, self.text)
        return node

    def parseor3(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise query_error(f"The $filter expression is nested too deeply in '{self.text}'.")
        node = self.parseand3()
        while self.at("keyword", "or"):
            self.advance()
            node = self._logical("or", node, self.parseand3())
        self.depth -= 1
        return node

    def parseand3(self) -> Node:
        node = self.parse_not()
        while self.at("keyword", "and"):
            self.advance()
            node = self._logical("and", node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.at("keyword", "not"):
            self.advance()
            inner = self.parse_not()
            require_boolean(inner, "Not")
            return Node("Edm.Boolean", lambda scope: None if (v := inner.evaluate(scope)) is None else not v)
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_primary()
        token = self.current
        if token.kind == "keyword" and token.text in ("eq", "ne", "gt", "ge", "lt", "le"):
            self.advance()
            right = self.parse_primary()
            return self._comparison(token.text, left, right)
        return left

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind == "punct" and token.text == "(":
            self.advance()
            node = self.parseor3()
            self.expect_punct(")")
            return node
        if token.kind in ("string", "number", "guid", "date", "datetime"):
            self.advance()
            return literal_node(token)
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            self.advance()
            if token.text == "null":
                return Node("null", lambda scope: None)
            value = token.text == "true"
            return Node("Edm.Boolean", lambda scope: value)
        if token.kind == "name":
            if self.tokens[self.index + 1].text == "(" and self.tokens[self.index + 1].kind == "punct":
                return self.parse_call()
            return self.parse_path()
        if token.kind == "end":
            raise query_error(f"Expression expected at position {token.position} in '{self.text}'.")
        raise syntax_error(token.position, self.text)

    # ---- functions ----
    def parse_call(self) -> Node:
        name_token = self.advance()
        name = name_token.text
        if name in ("contains", "startswith", "endswith"):
            return self._string_function(name)
        if name.startswith("Microsoft.Dynamics.CRM."):
            self.expect_punct("(")
            arguments: dict[str, Any] = {}
            while not self.at("punct", ")"):
                if arguments:
                    self.expect_punct(",")
                key = self.advance()
                if key.kind != "name":
                    raise syntax_error(key.position, self.text)
                self.expect_punct("=")
                arguments[key.text] = self._parameter_value()
            self.advance()
            test = compile_query_function(name, arguments, self.root, self.ctx)
            return Node("Edm.Boolean", lambda scope: test(scope["$it"]))
        raise query_error(
            f"An unknown function with name '{name}' was found. This may also be a function import or a key lookup "
            f"on a navigation property, which is not allowed."
        )

    def _parameter_value(self) -> Any:
        token = self.advance()
        if token.kind == "punct" and token.text == "[":
            values: list[Any] = []
            while not self.at("punct", "]"):
                if values:
                    if not self.at("punct", ","):
                        raise query_error("Invalid JSON. A comma character ',' was expected in scope 'Array'. Every "
                                          "two elements in an array and properties of an object must be separated "
                                          "by commas.")
                    self.advance()
                item = self.advance()
                if item.kind not in ("string", "number", "guid", "date", "datetime", "keyword"):
                    raise syntax_error(item.position, self.text)
                values.append(item.value)
            self.advance()
            return values
        if token.kind in ("string", "number", "guid", "date", "datetime") or token.text in ("true", "false"):
            return token.value
        if token.kind == "name" and token.text.startswith("@"):
            raise query_error(f"The parameter alias '{token.text}' is not supported by the sandbox; inline the value.")
        raise syntax_error(token.position, self.text)

    def _string_function(self, name: str) -> Node:
        self.expect_punct("(")
        subject = self.parseor3()
        self.expect_punct(",")
        needle = self.parseor3()
        self.expect_punct(")")
        for operand in (subject, needle):
            if operand.edm_type not in ("Edm.String", "null"):
                raise query_error(f"No function signature for the function with name '{name}' matches the specified "
                                  f"arguments. The function signatures considered are: {name}(Edm.String "
                                  f"Nullable=true, Edm.String Nullable=true).")
        shapes = {"contains": "%{}%", "startswith": "{}%", "endswith": "%{}"}

        def evaluate(scope: Scope) -> Any:
            value, pattern = subject.evaluate(scope), needle.evaluate(scope)
            if value is None or pattern is None:
                return None
            return like(value, like_regex(shapes[name].format(pattern)))

        return Node("Edm.Boolean", evaluate)

    # ---- property paths ----
    def parse_path(self) -> Node:
        first = self.advance()
        if first.text in self.variables and first.text != "$it":
            variable, table = first.text, self.variables[first.text]
            if not self.at("punct", "/"):
                raise query_error(f"The range variable '{variable}' can only be used as the start of a property path.")
            self.advance()
            segment = self.advance()
        else:
            variable, table, segment = "$it", self.root, first
        if segment.kind != "name":
            raise syntax_error(segment.position, self.text)
        hops: list[Callable[[Row | None], Row | None]] = []
        while True:
            name = segment.text
            many_to_one = next((r for r in table.many_to_one if r.navigation_property == name), None)
            one_to_many = next((r for r in table.one_to_many if r.navigation_property == name), None)
            column = table.column(name)
            if many_to_one is not None:
                target = self.dataset.table(many_to_one.referenced_entity)
                hops.append(self._follow(many_to_one.referencing_attribute, many_to_one.referenced_entity))
                if self.at("punct", "/"):
                    self.advance()
                    segment = self.advance()
                    if segment.kind != "name":
                        raise syntax_error(segment.position, self.text)
                    table = target
                    continue
                reach = chain(variable, hops)
                return Node(f"Microsoft.Dynamics.CRM.{target.logical_name}", reach)
            if one_to_many is not None:
                if hops:
                    raise query_error("Conditions on collection-valued navigation properties nested in a lookup "
                                      "navigation property are not supported.")
                return self._lambda(variable, table, one_to_many)
            if column is None or (column.is_lookup and not name.startswith("_")):
                raise query_error(
                    f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
                )
            if self.at("punct", "/"):
                raise query_error(f"The property '{name}' is not a navigation property and cannot be followed by '/'.")
            reach = chain(variable, hops)
            edm = "Edm.Date" if column.date_only else EDM_TYPES.get(column.type, "Edm.String")
            return Node(edm, _cell_reader(reach, column))

    def _follow(self, attribute: str, target: str) -> Callable[[Row | None], Row | None]:
        dataset = self.dataset

        def hop(row: Row | None) -> Row | None:
            if row is None:
                return None
            value = row.get(attribute)
            if not isinstance(value, LookupValue) or value.table != target:
                return None
            try:
                return dataset.get(target, value.id)
            except KeyError:
                return None

        return hop

    def _lambda(self, variable: str, table: Table, relation: Any) -> Node:
        child_table = self.dataset.table(relation.referencing_entity)
        self.expect_punct("/")
        operator = self.advance()
        if operator.kind != "name" or operator.text not in ("any", "all"):
            raise query_error(f"A collection-valued navigation property '{relation.navigation_property}' must be "
                              f"followed by '/any(...)' or '/all(...)' at position {operator.position} in "
                              f"'{self.text}'.")
        self.expect_punct("(")
        body: Node | None = None
        if not self.at("punct", ")"):
            name = self.advance()
            if name.kind != "name" or name.text in self.variables or "." in name.text:
                raise query_error(f"The range variable at position {name.position} in '{self.text}' is not valid.")
            self.expect_punct(":")
            self.variables[name.text] = child_table
            try:
                body = self.parseor3()
            finally:
                del self.variables[name.text]
            require_boolean(body, operator.text)
            range_variable = name.text
        elif operator.text == "all":
            raise query_error(f"The 'all' operator requires a lambda expression at position {operator.position} "
                              f"in '{self.text}'.")
        self.expect_punct(")")
        children = ChildIndex(self.dataset, child_table.logical_name, relation.referencing_attribute)
        key = table.primary_id
        owner = table.logical_name

        def evaluate(scope: Scope) -> Any:
            parent = scope.get(variable)
            if parent is None:
                return None
            rows = children.of(owner, str(parent.get(key, "")).lower())
            if body is None:
                return bool(rows)
            results = [body.evaluate({**scope, range_variable: child}) for child in rows]
            if operator.text == "any":
                return any(result is True for result in results)
            return all(result is True for result in results)

        return Node("Edm.Boolean", evaluate)

    # ---- combinators ----
    def _logical(self, operator: str, left: Node, right: Node) -> Node:
        for operand in (left, right):
            if operand.edm_type not in ("Edm.Boolean", "null"):
                raise query_error(f"A binary operator with incompatible types was detected. Found operand types "
                                  f"'{left.edm_type}' and '{right.edm_type}' for operator kind "
                                  f"'{OPERATOR_KINDS[operator]}'.")
        if operator == "and":
            return Node("Edm.Boolean", lambda scope: and3(left.evaluate(scope), right.evaluate(scope)))
        return Node("Edm.Boolean", lambda scope: or3(left.evaluate(scope), right.evaluate(scope)))

    def _comparison(self, operator: str, left: Node, right: Node) -> Node:
        if not compatible(left, right, operator):
            raise query_error(f"A binary operator with incompatible types was detected. Found operand types "
                              f"'{left.edm_type}' and '{right.edm_type}' for operator kind "
                              f"'{OPERATOR_KINDS[operator]}'.")
        if left.edm_type == "null":
            left, right = right, left
        if right.edm_type == "null":
            return Node("Edm.Boolean", lambda scope: null_test(operator, left.evaluate(scope)))
        if "Edm.Date" in (left.edm_type, right.edm_type):
            return Node("Edm.Boolean", lambda scope: compare(operator, day_of(left.evaluate(scope)),
                                                             day_of(right.evaluate(scope))))
        return Node("Edm.Boolean", lambda scope: compare(operator, left.evaluate(scope), right.evaluate(scope)))


