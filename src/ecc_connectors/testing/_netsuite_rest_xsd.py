"""Tables of Oracle's SuiteTalk 2023_2 schema that the fake NetSuite REST endpoint is built from (generated).

Theory of operation: the fake must not share the driver's assumptions, so what it accepts and answers comes from
Oracle's own published schema, never from ``ecc_connectors.drivers.netsuite_rest``. The REST record service
names record fields and sublists as the SOAP schema does (``tranId``, ``orderStatus``, ``itemList`` items as the
``item`` sublist), so the element names of ``SalesOrder``, ``SalesOrderItem``, ``ItemFulfillment``,
``ItemFulfillmentItem``, ``ItemFulfillmentPackage`` and ``Address`` decide which fields a write may carry, and
the ``SalesOrderOrderStatus`` enumeration, in Oracle's order, gives the status letters (``SalesOrd:A`` is its
first value, ``SalesOrd:H`` its eighth). The project must not read ``shared/`` at run time, so the values are
copied here by a script; ``tests/test_netsuite_rest_fake.py`` extracts them again from
``shared/specs/netsuite/2023_2/xsd`` and fails when one differs.
"""

from __future__ import annotations

__all__ = [
    "ADDRESS_FIELDS",
    "FULFILMENT_FIELDS",
    "FULFILMENT_ITEM_FIELDS",
    "PACKAGE_FIELDS",
    "SALES_ORDER_FIELDS",
    "SALES_ORDER_ITEM_FIELDS",
    "SALES_ORDER_STATUSES",
    "SHIP_STATUSES",
    "TRANSACTION_STATUSES",
]

# fmt: off
# transactions.saleTypes.xsd, simpleType SalesOrderOrderStatus (Oracle's order).
SALES_ORDER_STATUSES: tuple[str, ...] = (
    "_pendingApproval", "_pendingFulfillment", "_cancelled", "_partiallyFulfilled", "_pendingBillingPartFulfilled",
    "_pendingBilling", "_fullyBilled", "_closed", "_undefined",
)
# transactions.saleTypes.xsd, simpleType TransactionStatus: the sales order values (their labels).
TRANSACTION_STATUSES: tuple[str, ...] = (
    "_salesOrderBilled", "_salesOrderCancelled", "_salesOrderClosed", "_salesOrderPartiallyFulfilled",
    "_salesOrderPendingApproval", "_salesOrderPendingBilling", "_salesOrderPendingBillingPartiallyFulfilled",
    "_salesOrderPendingFulfillment",
)
# transactions.saleTypes.xsd, simpleType ItemFulfillmentShipStatus.
SHIP_STATUSES: tuple[str, ...] = (
    "_packed", "_picked", "_shipped",
)
# transactions.sales.xsd, complexType SalesOrder: its element and attribute names.
SALES_ORDER_FIELDS: tuple[str, ...] = (
    "createdDate", "customForm", "entity", "job", "currency", "drAccount", "fxAccount", "tranDate", "tranId",
    "entityTaxRegNum", "source", "createdFrom", "orderStatus", "nextBill", "opportunity", "salesRep", "contribPct",
    "partner", "salesGroup", "syncSalesTeams", "leadSource", "startDate", "endDate", "otherRefNum", "memo",
    "salesEffectiveDate", "excludeCommission", "totalCostEstimate", "estGrossProfit", "estGrossProfitPercent",
    "exchangeRate", "promoCode", "currencyName", "discountItem", "discountRate", "isTaxable", "taxItem", "taxRate",
    "toBePrinted", "toBeEmailed", "email", "toBeFaxed", "fax", "messageSel", "message", "paymentOption",
    "inputAuthCode", "inputReferenceCode", "checkNumber", "paymentCardCsc", "paymentProcessingProfile",
    "handlingMode", "outputAuthCode", "outputReferenceCode", "paymentOperation", "dynamicDescriptor",
    "billingAddress", "billAddressList", "shippingAddress", "shipIsResidential", "shipAddressList", "fob",
    "shipDate", "actualShipDate", "shipMethod", "shippingCost", "shippingTax1Rate", "isMultiShipTo",
    "shippingTax2Rate", "shippingTaxCode", "handlingTaxCode", "handlingTax1Rate", "handlingTax2Rate",
    "handlingCost", "trackingNumbers", "linkedTrackingNumbers", "shipComplete", "paymentMethod", "shopperIpAddress",
    "saveOnAuthDecline", "canHaveStackable", "creditCard", "revenueStatus", "recognizedRevenue", "deferredRevenue",
    "revRecOnRevCommitment", "revCommitStatus", "ccNumber", "ccExpireDate", "ccName", "ccStreet", "ccZipCode",
    "payPalStatus", "creditCardProcessor", "payPalTranId", "ccApproved", "getAuth", "authCode", "ccAvsStreetMatch",
    "ccAvsZipMatch", "isRecurringPayment", "ccSecurityCodeMatch", "altSalesTotal", "ignoreAvs",
    "paymentEventResult", "paymentEventHoldReason", "paymentEventType", "paymentEventDate", "paymentEventUpdatedBy",
    "subTotal", "discountTotal", "taxTotal", "altShippingCost", "altHandlingCost", "total", "revRecSchedule",
    "revRecStartDate", "revRecEndDate", "paypalAuthId", "balance", "paypalProcess", "billingSchedule",
    "ccSecurityCode", "threeDStatusCode", "class", "department", "subsidiary", "intercoTransaction",
    "intercoStatus", "debitCardIssueNo", "lastModifiedDate", "nexus", "subsidiaryTaxRegNum", "taxRegOverride",
    "taxPointDate", "taxDetailsOverride", "location", "pnRefNum", "status", "tax2Total", "terms", "validFrom",
    "vatRegNum", "giftCertApplied", "oneTime", "recurWeekly", "recurMonthly", "recurQuarterly", "recurAnnually",
    "tranIsVsoeBundle", "vsoeAutoCalc", "syncPartnerTeams", "salesTeamList", "partnersList",
    "giftCertRedemptionList", "promotionsList", "itemList", "shipGroupList", "accountingBookDetailList",
    "taxDetailsList", "customFieldList", "internalId", "externalId",
)
# transactions.sales.xsd, complexType SalesOrderItem: its element and attribute names.
SALES_ORDER_ITEM_FIELDS: tuple[str, ...] = (
    "job", "subscription", "item", "quantityAvailable", "expandItemGroup", "lineUniqueKey", "quantityOnHand",
    "quantity", "units", "inventoryDetail", "description", "price", "rate", "serialNumbers", "amount", "isTaxable",
    "commitInventory", "orderPriority", "licenseCode", "options", "department", "class", "location", "createPo",
    "createdPo", "altSalesAmt", "createWo", "poVendor", "poCurrency", "poRate", "revRecSchedule", "revRecStartDate",
    "revRecTermInMonths", "revRecEndDate", "deferRevRec", "isClosed", "itemFulfillmentChoice", "catchUpPeriod",
    "billingSchedule", "fromJob", "grossAmt", "taxAmount", "excludeFromRateRequest", "isEstimate",
    "inventoryLocation", "inventorySubsidiary", "line", "percentComplete", "costEstimateType", "costEstimate",
    "quantityBackOrdered", "quantityBilled", "quantityCommitted", "quantityFulfilled", "quantityPacked",
    "quantityPicked", "tax1Amt", "taxCode", "taxRate1", "taxRate2", "giftCertFrom", "giftCertRecipientName",
    "giftCertRecipientEmail", "giftCertMessage", "giftCertNumber", "shipGroup", "itemIsFulfilled", "shipAddress",
    "shipMethod", "vsoeSopGroup", "vsoeIsEstimate", "vsoePrice", "vsoeAmount", "vsoeAllocation", "vsoeDeferral",
    "vsoePermitDiscount", "vsoeDelivered", "expectedShipDate", "noAutoAssignLocation", "locationAutoAssigned",
    "taxDetailsReference", "chargeType", "orderAllocationStrategy", "requestedDate", "customFieldList",
)
# transactions.sales.xsd, complexType ItemFulfillment: its element and attribute names.
FULFILMENT_FIELDS: tuple[str, ...] = (
    "createdDate", "lastModifiedDate", "customForm", "postingPeriod", "entity", "createdFrom", "requestedBy",
    "createdFromShipGroup", "partner", "shippingAddress", "pickedDate", "packedDate", "shippedDate",
    "shipIsResidential", "shipAddressList", "shipStatus", "saturdayDeliveryUps", "sendShipNotifyEmailUps",
    "sendBackupEmailUps", "shipNotifyEmailAddressUps", "shipNotifyEmailAddress2Ups", "backupEmailAddressUps",
    "shipNotifyEmailMessageUps", "thirdPartyAcctUps", "thirdPartyZipcodeUps", "thirdPartyCountryUps",
    "thirdPartyTypeUps", "partiesToTransactionUps", "exportTypeUps", "methodOfTransportUps", "carrierIdUps",
    "entryNumberUps", "inbondCodeUps", "isRoutedExportTransactionUps", "licenseNumberUps", "licenseDateUps",
    "licenseExceptionUps", "eccNumberUps", "recipientTaxIdUps", "blanketStartDateUps", "blanketEndDateUps",
    "shipmentWeightUps", "saturdayDeliveryFedEx", "saturdayPickupFedex", "sendShipNotifyEmailFedEx",
    "sendBackupEmailFedEx", "signatureHomeDeliveryFedEx", "shipNotifyEmailAddressFedEx", "backupEmailAddressFedEx",
    "shipDateFedEx", "homeDeliveryTypeFedEx", "homeDeliveryDateFedEx", "bookingConfirmationNumFedEx",
    "intlExemptionNumFedEx", "b13aFilingOptionFedEx", "b13aStatementDataFedEx", "thirdPartyAcctFedEx",
    "thirdPartyCountryFedEx", "thirdPartyTypeFedEx", "shipmentWeightFedEx", "termsOfSaleFedEx",
    "termsFreightChargeFedEx", "termsInsuranceChargeFedEx", "insideDeliveryFedEx", "insidePickupFedEx",
    "ancillaryEndorsementFedEx", "holdAtLocationFedEx", "halPhoneFedEx", "halAddr1FedEx", "halAddr2FedEx",
    "halAddr3FedEx", "halCityFedEx", "halZipFedEx", "halStateFedEx", "halCountryFedEx", "hazmatTypeFedEx",
    "accessibilityTypeFedEx", "isCargoAircraftOnlyFedEx", "tranDate", "tranId", "shipMethod",
    "generateIntegratedShipperLabel", "shippingCost", "handlingCost", "memo", "transferLocation", "packageList",
    "packageUpsList", "packageUspsList", "packageFedExList", "itemList", "accountingBookDetailList",
    "customFieldList", "internalId", "externalId",
)
# transactions.sales.xsd, complexType ItemFulfillmentItem: its element and attribute names.
FULFILMENT_ITEM_FIELDS: tuple[str, ...] = (
    "jobName", "itemReceive", "itemName", "description", "department", "class", "location", "onHand", "quantity",
    "unitsDisplay", "createPo", "inventoryDetail", "binNumbers", "serialNumbers", "poNum", "item", "orderLine",
    "quantityRemaining", "options", "shipGroup", "itemIsFulfilled", "shipAddress", "shipMethod", "customFieldList",
)
# transactions.sales.xsd, complexType ItemFulfillmentPackage: its element and attribute names.
PACKAGE_FIELDS: tuple[str, ...] = (
    "packageWeight", "packageDescr", "packageTrackingNumber",
)
# platform.common.xsd, complexType Address: its element and attribute names.
ADDRESS_FIELDS: tuple[str, ...] = (
    "internalId", "country", "attention", "addressee", "addrPhone", "addr1", "addr2", "addr3", "city", "state",
    "zip", "addrText", "override", "customFieldList",
)
# fmt: on
